import { applyDecorators, SetMetadata, type Type, UseFilters, UseInterceptors } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CacheAsideInterceptor } from './cache-aside.interceptor.js';
import { CACHED_OPTIONS } from './cache.tokens.js';
import { NotModifiedFilter } from './not-modified.filter.js';

export interface CachedOptions<Q extends object = Record<string, never>> {
  /**
   * The entry's key, from the request and its validated query (`query`). It must name everything
   * the response depends on: path parameters, the query's fields for lists, and the caller for
   * per-user data (or do not cache it). Build it from validated values only, in one canonical
   * spelling. `undefined`: this request is not answered from the cache (say, a path id the pipe
   * refuses); it goes to the handler, whose pipes answer it, and no cache is consulted.
   */
  key: (request: FastifyRequest, query: Q) => string | undefined;
  /**
   * The handler's `@Query()` DTO. The query is validated with the app's validation pipe before
   * the cache is consulted; a query the pipe refuses goes past the cache (the pipe answers 400).
   * Without it, a request that carries any query parameter goes past the cache.
   */
  query?: Type<Q>;
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
 * @Cached({ key: productKeyOf, ttl: seconds(60) }) // undefined for an id the UUID pipe refuses
 * get(@Param('id', ParseUuidPipe) id: string) { return this.products.get(id); }
 *
 * @Get()
 * @Cached({ query: ListProductsQueryDto, key: productListKeyOf, tags: ['products'] }) // from the validated DTO
 * list(@Query() query: ListProductsQueryDto) { return this.products.list(query); }
 * ```
 */
export function Cached<Q extends object = Record<string, never>>(options: CachedOptions<Q>): MethodDecorator {
  return applyDecorators(
    SetMetadata(CACHED_OPTIONS, options),
    UseInterceptors(CacheAsideInterceptor),
    UseFilters(NotModifiedFilter),
  );
}
