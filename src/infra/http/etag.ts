import { createHash } from 'node:crypto';
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

/**
 * A weak ETag from a response body, for answers that have no one entity version (list pages):
 * equal bodies, equal tags, so a cache hit and a miss of the same page agree. Weak, because it
 * stands for the JSON, not for one encoding of its bytes: the compressed answer carries it too.
 */
export function weakEtagOf(body: string | Buffer): string {
  return `W/"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/"3"` matches `"3"`. */
export function ifNoneMatchHits(header: string | undefined, version: number): boolean {
  return ifNoneMatchHitsTag(header, etagOf(version));
}

/** The same weak comparison against any ETag, strong or weak. */
export function ifNoneMatchHitsTag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const current = etag.replace(/^W\//, '');
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

/**
 * The versions a write (PATCH, DELETE) may apply to, from its preconditions. `If-None-Match: *`
 * means "only if the resource does not exist", which a write to an existing one never meets: no
 * version is allowed, so the conditional write itself answers 412 (404 when it is missing) and
 * changes nothing. Other `If-None-Match` tags are not evaluated on writes.
 */
export function writePreconditions(ifMatch: string | undefined, ifNoneMatch: string | undefined): number[] | undefined {
  if (ifNoneMatch !== undefined && tags(ifNoneMatch).includes('*')) return [];
  return versionsFromIfMatch(ifMatch);
}

export const preconditionFailed = (): ProblemException =>
  new ProblemException(
    412,
    'The resource does not meet the precondition: it has changed since you read it (If-Match does not match its ETag), or it exists (If-None-Match: *); read it again and retry',
  );
