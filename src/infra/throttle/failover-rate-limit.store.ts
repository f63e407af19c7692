import { Logger } from '@nestjs/common';
import type { MemoryRateLimitStore } from './memory-rate-limit.store.js';
import { type ConsumeResult, RateLimitStore, type TierLimit } from './rate-limit.store.js';
import type { RedisRateLimitStore } from './redis-rate-limit.store.js';
import { RedisGuard } from '../redis/index.js';

export type ThrottleFailMode = 'local' | 'closed';

/** The shared store failover puts first: Redis, through quota leases (quota-lease.ts) or not. */
export type SharedRateLimitStore = Pick<RedisRateLimitStore, 'ready' | 'state' | 'consume' | 'peek'> & {
  /** An admission from a slot already leased (and recorded in Redis), decided without a call; else undefined. */
  takeLeased?: (client: string, tiers: readonly TierLimit[]) => ConsumeResult | undefined;
};

/** Thrown in `closed` mode while Redis is down: the guard answers 503. */
export class RateLimiterUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The rate limiter store is unavailable', { cause });
    this.name = 'RateLimiterUnavailableError';
  }
}

export interface FailoverOptions {
  failMode: ThrottleFailMode;
  /** A Redis call slower than this counts as a failure. */
  timeoutMs: number;
  /**
   * After a failure, how long to decide without asking Redis before one request probes it again
   * (the breaker opens on the first failure, so an outage costs no timeout per request).
   */
  cooldownMs?: number;
  /** Called once per request decided without Redis, with the fail mode that applied. */
  onFallback?: (mode: ThrottleFailMode) => void;
}

/**
 * Redis first; when Redis is down, slow or disconnected, the fail mode decides: `local` answers
 * from this instance's in-memory limiter (same algorithm, limits then hold per instance), `closed`
 * throws `RateLimiterUnavailableError`. Never unlimited: each outage is logged once and every
 * request decided without Redis is counted through `onFallback`.
 */
export class FailoverRateLimitStore extends RateLimitStore {
  private readonly logger = new Logger('Throttle');
  private readonly guard: RedisGuard;
  private degraded = false;

  constructor(
    private readonly redis: SharedRateLimitStore,
    private readonly local: MemoryRateLimitStore,
    private readonly options: FailoverOptions,
  ) {
    super();
    this.guard = new RedisGuard({
      commandTimeoutMs: options.timeoutMs,
      breakerThreshold: 1,
      breakerHalfOpenMs: options.cooldownMs ?? 1_000,
    });
  }

  consume(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult> {
    const leased = this.redis.takeLeased?.(client, tiers);
    if (leased !== undefined) return Promise.resolve(leased);
    return this.decide('consume', client, tiers);
  }

  peek(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult> {
    return this.decide('peek', client, tiers);
  }

  private async decide(
    operation: 'consume' | 'peek',
    client: string,
    tiers: readonly TierLimit[],
  ): Promise<ConsumeResult> {
    if (this.redis.ready) {
      try {
        const result = await this.guard.run(() => this.redis[operation](client, tiers));
        if (this.degraded) {
          this.degraded = false;
          this.logger.log('Redis answers again: rate limits are shared across instances again');
        }
        return result;
      } catch (error) {
        // A failure opened the breaker; while it is open the guard refuses at once (also a fallback).
        return this.fallback(operation, client, tiers, error);
      }
    }
    return this.fallback(operation, client, tiers, new Error(`Redis connection is ${this.redis.state}`));
  }

  private fallback(
    operation: 'consume' | 'peek',
    client: string,
    tiers: readonly TierLimit[],
    error: unknown,
  ): Promise<ConsumeResult> {
    if (!this.degraded) {
      this.degraded = true;
      this.logger.warn(
        `Redis is unavailable for rate limiting (${String(error)}); ` +
          (this.options.failMode === 'local' ? 'limiting per instance in memory' : 'refusing limited routes with 503'),
      );
    }
    this.options.onFallback?.(this.options.failMode);
    if (this.options.failMode === 'closed') return Promise.reject(new RateLimiterUnavailableError(error));
    return this.local[operation](client, tiers);
  }
}
