import { applyDecorators, SetMetadata, UseFilters, UseInterceptors } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CacheAsideInterceptor } from './cache-aside.interceptor.js';
import { CACHED_OPTIONS } from './cache.tokens.js';
import { NotModifiedFilter } from './not-modified.filter.js';

export interface CachedOptions {
  /**
   * The entry's key, from the request. It must name everything the response depends on: path
   * parameters, the query string for lists, and the caller for per-user data (or do not cache it).
   */
  key: (request: FastifyRequest) => string;
  /** TTL in ms (before ±10% jitter); `CACHE_TTL_SECONDS` when omitted. Use `seconds(60)`. */
  ttl?: number;
  /** Entries under a tag become misses when it is invalidated (list pages: the resource's tag). */
  tags?: readonly string[];
  /** `cache` label in `cache_requests_total`; defaults to `Controller.method`. */
  name?: string;
}

/**
 * Cache-aside for a GET handler: a hit answers from the stored body (no handler, no database,
 * one store round trip), a miss runs the handler once per key across instances and stores what it
 * returned; 404s are cached briefly. Sets `ETag` from the body's `version` (untagged entries) and
 * answers `If-None-Match` with 304, and sets `Cache-Status` (RFC 9211) on every answer.
 *
 * The handler must return the response body (no `@Res()`), and its key must be the one the
 * module's write-through rule builds, so that writes replace the entry:
 *
 * ```ts
 * @Get(':id')
 * @Cached({ key: (req) => productKey((req.params as { id: string }).id), ttl: seconds(60) })
 * get(@Param('id', ParseUuidPipe) id: string) { return this.products.get(id); }
 *
 * @Get()
 * @Cached({ key: (req) => `products:list:${queryOf(req)}`, tags: ['products'] })
 * list(@Query() query: ListProductsQueryDto) { return this.products.list(query); }
 * ```
 */
export function Cached(options: CachedOptions): MethodDecorator {
  return applyDecorators(SetMetadata(CACHED_OPTIONS, options), UseInterceptors(CacheAsideInterceptor), UseFilters(NotModifiedFilter));
}

/** The raw query string (without `?`): list keys include it so each page and filter is its own entry. */
export function queryOf(request: FastifyRequest): string {
  const at = request.url.indexOf('?');
  return at < 0 ? '' : request.url.slice(at + 1);
}
