import { applyDecorators, SetMetadata, UseFilters, UseInterceptors } from '@nestjs/common';
import { CacheAsideInterceptor } from './cache-aside.interceptor.js';
import type { CachedOptions } from './cache.options.js';
import { CACHED_OPTIONS } from './cache.tokens.js';
import { NotModifiedFilter } from './not-modified.filter.js';

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
