// The cache's public surface: import from here and nothing else under infra/cache.
export { CacheModule, cacheOptionsFromConfig } from './cache.module.js';
export { CacheService } from './cache.service.js';
export type { CachePolicy } from './cache.types.js';
export { Cached } from './cached.decorator.js';
export { canonicalQuery, pageKeyFields, type QueryKeyFields } from './cache-key.js';
export type { CachedAggregate, WriteThroughLayout } from './write-through.js';
export type { CachedOptions, CacheModuleOptions } from './cache.options.js';
// The seam infra/fast-path answers cache hits through, before the Nest pipeline.
export { CachedReadPort } from './cached-read.port.js';
export type { CachedRoute } from './cached-route.js';
