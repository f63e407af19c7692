import { ProblemException } from './problem.js';

/** A strong ETag from an entity's version: it changes exactly when the entity changes. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

function tags(header: string): string[] {
  return header
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag.length > 0);
}

/** `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/"3"` matches `"3"`. */
export function ifNoneMatchHits(header: string | undefined, version: number): boolean {
  if (header === undefined) return false;
  const current = etagOf(version);
  return tags(header).some((tag) => tag === '*' || tag.replace(/^W\//, '') === current);
}

/**
 * The versions an `If-Match` header allows: `undefined` when there is no precondition (or `*`,
 * which any existing entity meets). Strong comparison, so weak tags never match.
 */
export function versionsFromIfMatch(header: string | undefined): number[] | undefined {
  if (header === undefined) return undefined;
  const all = tags(header);
  if (all.includes('*')) return undefined;
  return all.flatMap((tag) => {
    const match = /^"(\d{1,9})"$/.exec(tag);
    return match ? [Number(match[1])] : [];
  });
}

export const preconditionFailed = (): ProblemException =>
  new ProblemException(412, 'The resource has changed since you read it (If-Match does not match its ETag); read it again and retry');
