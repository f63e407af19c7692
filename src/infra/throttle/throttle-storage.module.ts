import { Inject, Injectable, Logger, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { throttleConfig } from '../../config/index.js';
import { MetricsService } from '../metrics/index.js';
import { RedisConnections, RedisModule } from '../redis/index.js';
import { FailoverRateLimitStore } from './failover-rate-limit.store.js';
import { MemoryRateLimitStore } from './memory-rate-limit.store.js';
import { QuotaLeaseRateLimitStore } from './quota-lease.js';
import { RateLimitStore } from './rate-limit.store.js';
import { RedisRateLimitStore } from './redis-rate-limit.store.js';

/**
 * Builds the store from config: Redis with the configured fail mode when `REDIS_URL` (or
 * `REDIS_CLUSTER_NODES`) is set,
 * else the in-memory store. Owns the Redis connection: connects at start-up (waiting briefly, so
 * the first requests are already shared across instances) and closes it at shutdown.
 */
@Injectable()
export class RateLimitStoreLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Throttle');
  readonly store: RateLimitStore;
  private readonly redis: RedisRateLimitStore | undefined;
  private readonly leases: QuotaLeaseRateLimitStore | undefined;

  constructor(
    @Inject(throttleConfig.KEY) config: ConfigType<typeof throttleConfig>,
    connections: RedisConnections,
    metrics: MetricsService,
  ) {
    const local = new MemoryRateLimitStore({ maxEntries: config.localMaxKeys });
    if (connections.target === undefined) {
      this.store = local;
      return;
    }
    this.redis = new RedisRateLimitStore({ ...connections.target, keyPrefix: connections.keyPrefix });
    connections.hold('throttle', this.redis.client);
    this.leases = new QuotaLeaseRateLimitStore(this.redis);
    this.store = new FailoverRateLimitStore(this.leases, local, {
      failMode: config.failMode,
      timeoutMs: config.redisTimeoutMs,
      onFallback: (mode) => metrics.throttleFallbacks.inc({ mode }),
    });
  }

  async onModuleInit(): Promise<void> {
    if (this.redis && !(await this.redis.connect())) {
      this.logger.warn('Redis did not answer at start-up; rate limits use the fail mode until it does');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.leases?.close();
    await this.redis?.close();
  }
}

/** Provides `RateLimitStore` (also a `ThrottlerStorage`) for the guard and `ThrottlerModule`. */
@Module({
  imports: [RedisModule],
  providers: [
    RateLimitStoreLifecycle,
    {
      provide: RateLimitStore,
      useFactory: (owner: RateLimitStoreLifecycle) => owner.store,
      inject: [RateLimitStoreLifecycle],
    },
  ],
  exports: [RateLimitStore],
})
export class ThrottleStorageModule {}
