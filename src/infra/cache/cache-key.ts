import type { Type } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { decodeCursor, encodeCursor } from '../database/index.js';
import { AppValidationPipe, DEFAULT_PAGE_SIZE, type PageQueryDto } from '../http/index.js';

/** The app's validation pipe: a cache key is built from exactly what the handler's `@Query()` would receive. */
const validation = new AppValidationPipe();

/** Raw query strings up to this long have their validated form remembered (`QueryValidator`). */
const MEMO_MAX_QUERY_LENGTH = 256;
const MEMO_MAX_ENTRIES = 1000;

/**
 * Validates a route's query with the handler's `@Query()` rules, remembering the outcome for the
 * last `MEMO_MAX_ENTRIES` short raw query strings: validation costs more than a cache hit, and a
 * hot list page is asked for in the same spelling again and again. Bounded in entries and in
 * length, so no client can grow it.
 */
export class QueryValidator<Q extends object> {
  private readonly memo = new Map<string, Q | undefined>();

  constructor(private readonly dto: Type<Q>) {}

  /** The query as the pipe turns it into the DTO, or undefined when the pipe would refuse it (400). */
  async validate(request: FastifyRequest): Promise<Q | undefined> {
    const at = request.url.indexOf('?');
    const raw = at < 0 ? '' : request.url.slice(at + 1);
    if (this.memo.has(raw)) return this.memo.get(raw);
    let query: Q | undefined;
    try {
      query = (await validation.transform(request.query, { type: 'query', metatype: this.dto })) as Q;
    } catch {
      query = undefined;
    }
    if (raw.length <= MEMO_MAX_QUERY_LENGTH) {
      if (this.memo.size >= MEMO_MAX_ENTRIES) this.memo.delete(this.memo.keys().next().value!);
      // Frozen: the same object builds every key of this spelling.
      this.memo.set(raw, query === undefined ? undefined : Object.freeze(query));
    }
    return query;
  }
}

/** Whether the request carries any query parameter (`?&&` carries none). */
export function hasQueryParameters(request: FastifyRequest): boolean {
  const query = request.query as Record<string, unknown> | undefined;
  for (const name in query) if (Object.hasOwn(query, name)) return true;
  return false;
}

export type QueryKeyFields = Record<string, string | number | boolean | undefined>;

/**
 * One string per meaning: the fields sorted by name, undefined ones left out, values
 * URI-encoded. Build it from the validated DTO with its defaults filled in, so `?limit=020`,
 * `?%6cimit=20`, `?&&&limit=20` and no query at all are one entry.
 */
export function canonicalQuery(fields: QueryKeyFields): string {
  return Object.keys(fields)
    .filter((name) => fields[name] !== undefined)
    .sort()
    .map((name) => `${name}=${encodeURIComponent(String(fields[name]))}`)
    .join('&');
}

/**
 * The key fields of a validated `PageQueryDto`: the page size with its default, and the cursor
 * decoded and re-encoded (ids lower-cased), so two spellings of one position share an entry.
 * Undefined when the cursor is invalid: the handler answers that 400, uncached.
 */
export function pageKeyFields(query: PageQueryDto): QueryKeyFields | undefined {
  let cursor: string | undefined;
  if (query.cursor !== undefined) {
    try {
      const position = decodeCursor(query.cursor);
      cursor = encodeCursor({ createdAt: position.createdAt, id: position.id.toLowerCase() });
    } catch {
      return undefined;
    }
  }
  return { limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor };
}
