import { type DynamicModule, Logger, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { CACHE_DEFAULTS, type cacheConfig, type redisConfig } from '../../config/index.js';
import { RedisConnections } from '../redis/index.js';
import { CacheAsideInterceptor } from './cache-aside.interceptor.js';
import { CACHE_MODULE_OPTIONS, ConfigurableCacheModule } from './cache.module-definition.js';
import type { CacheBehaviour, CacheModuleOptions } from './cache.options.js';
import { CacheService } from './cache.service.js';
import { CacheStore } from './cache.store.js';
import { CachedReadPort } from './cached-read.port.js';
import { CachedRoutes } from './cached-route.js';
import { CACHE_BEHAVIOUR } from './cache.tokens.js';
import { type InProcessBounds, MemoryCacheStore } from './memory.store.js';
import { NotModifiedFilter } from './not-modified.filter.js';
import { RedisInvalidationChannel } from './redis-invalidation.channel.js';
import { RedisCacheStore } from './redis.store.js';
import { TieredCacheStore } from './tiered.store.js';
import { type CachedAggregate, WriteThroughListener, WriteThroughRegistry } from './write-through.js';

/** How long start-up waits for Redis before serving from the database (the cache joins when Redis answers). */
const CONNECT_WAIT_MS = 2000;

/**
 * Builds the store the options name. An unknown store stops start-up: there is no silent fallback.
 */
export async function createCacheStore(
  options: CacheModuleOptions,
  connections?: RedisConnections,
): Promise<CacheStore | null> {
  switch (options.store) {
    case 'none':
      return null;
    case 'memory':
      return new MemoryCacheStore(options.bounds);
    case 'redis': {
      const redis = new RedisCacheStore(options);
      connections?.hold('cache', redis.client);
      redis.connect();
      await redis.ready(CONNECT_WAIT_MS);
      if (!options.l1TtlMs) return redis;
      const tiered = new TieredCacheStore(redis, new RedisInvalidationChannel(redis), options.l1TtlMs, options.bounds);
      await tiered.connect(CONNECT_WAIT_MS);
      return tiered;
    }
    default:
      throw new Error(`Unknown cache store "${(options as { store: string }).store}": expected none, memory or redis`);
  }
}

function behaviourOf(options: CacheModuleOptions): CacheBehaviour {
  return {
    ttlMs: options.ttlMs ?? CACHE_DEFAULTS.ttlMs,
    negativeTtlMs: options.negativeTtlMs ?? CACHE_DEFAULTS.negativeTtlMs,
    lockWaitMs: options.lockWaitMs ?? CACHE_DEFAULTS.lockWaitMs,
    staleIfErrorMs: options.staleIfErrorMs ?? CACHE_DEFAULTS.staleIfErrorMs,
    jitter: options.jitter,
    leaseTtlMs: options.leaseTtlMs,
    refreshBeta: options.refreshBeta,
    cacheName: options.cacheName,
  };
}

/**
 * The options from the typed config namespaces, for `forRootAsync`:
 *
 * ```ts
 * CacheModule.forRootAsync({ inject: [cacheConfig.KEY, redisConfig.KEY], useFactory: cacheOptionsFromConfig })
 * ```
 */
export function cacheOptionsFromConfig(
  cache: ConfigType<typeof cacheConfig>,
  redis: ConfigType<typeof redisConfig>,
): CacheModuleOptions {
  const behaviour: CacheBehaviour = {
    ttlMs: cache.ttlMs,
    negativeTtlMs: cache.negativeTtlMs,
    lockWaitMs: cache.lockWaitMs,
    staleIfErrorMs: cache.staleIfErrorMs,
  };
  const bounds: InProcessBounds = {
    maxEntries: cache.memoryMaxEntries,
    maxBytes: cache.memoryMaxBytes,
    maxEntryBytes: cache.maxEntryBytes,
  };
  switch (cache.store) {
    case 'none':
      return { store: 'none', ...behaviour };
    case 'memory':
      return { store: 'memory', bounds, ...behaviour };
    case 'redis':
      return {
        store: 'redis',
        // The config namespace refuses `redis` without REDIS_URL.
        url: redis.url!,
        keyPrefix: redis.keyPrefix,
        commandTimeoutMs: cache.commandTimeoutMs,
        writeTimeoutMs: cache.writeTimeoutMs,
        breakerHalfOpenMs: cache.breakerHalfOpenMs,
        l1TtlMs: cache.l1TtlMs,
        bounds,
        ...behaviour,
      };
  }
}

/** Carries one feature's write-through aggregates into the global registry. */
@Module({})
export class CacheFeatureModule {}

/**
 * The cache: `forRoot`/`forRootAsync` once in the app module (global), `forFeature(aggregates)` in
 * each feature module that wants write-through. Feature code uses `@Cached(...)` and `CacheService`
 * only; stores, Redis and leases stay in here.
 */
@Module({
  providers: [
    {
      provide: CacheStore,
      // Optional: a test module may build the cache without RedisModule (health then has no cache client).
      inject: [CACHE_MODULE_OPTIONS, { token: RedisConnections, optional: true }],
      useFactory: async (options: CacheModuleOptions, connections?: RedisConnections) => {
        const store = await createCacheStore(options, connections);
        new Logger('Cache').log(store === null ? 'Cache off (CACHE_STORE=none)' : `Cache store: ${store.kind}`);
        return store;
      },
    },
    { provide: CACHE_BEHAVIOUR, inject: [CACHE_MODULE_OPTIONS], useFactory: behaviourOf },
    CacheService,
    WriteThroughRegistry,
    WriteThroughListener,
    CachedRoutes,
    CacheAsideInterceptor,
    CachedReadPort,
    NotModifiedFilter,
  ],
  // CachedRoutes: `@Cached` routes' interceptors, made in the feature modules, share its hand-overs.
  exports: [CacheService, WriteThroughRegistry, CachedRoutes, CacheAsideInterceptor, CachedReadPort, NotModifiedFilter],
})
export class CacheModule extends ConfigurableCacheModule {
  /**
   * Declares write-through for a feature's aggregates (see `CachedAggregate`): the same descriptors
   * the feature emits and declares with `OutboxModule.forFeature`, or start-up fails.
   */
  static forFeature(...rules: CachedAggregate[]): DynamicModule {
    const token = Symbol(`CacheWriteThrough(${rules.map((r) => r.type).join(',')})`);
    return {
      // A module of its own: a dynamic CacheModule would build a second store.
      module: CacheFeatureModule,
      providers: [
        {
          provide: token,
          inject: [WriteThroughRegistry],
          useFactory: (registry: WriteThroughRegistry) => registry.add(rules),
        },
      ],
    };
  }
}
