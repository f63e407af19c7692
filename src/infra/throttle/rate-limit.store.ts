import type { ThrottlerStorage } from '@nestjs/throttler';

/** One limit to check for a request: at most `limit` admitted requests in any span of `windowMs`. */
export interface TierLimit {
  /** The tier's name as the headers show it (`burst`, `default`, `write`). */
  name: string;
  /** The bucket inside the client's keyspace: the tier name, plus the route when a route has its own limit. */
  bucket: string;
  limit: number;
  windowMs: number;
}

/** What one tier looks like after the decision. */
export interface TierState {
  name: string;
  limit: number;
  windowMs: number;
  /** Requests the client may still make in this tier right now. */
  remaining: number;
  /** Milliseconds until the oldest counted request leaves the window (when `remaining` next grows); 0 if none is counted. */
  resetMs: number;
}

export interface ConsumeResult {
  /** True when every tier had room; the request was then counted in every tier, else in none. */
  allowed: boolean;
  /** When refused: milliseconds until every refusing tier has room again (> 0). */
  retryAfterMs: number;
  /** When refused: the tier that made the client wait longest. */
  refusedBy?: string;
  tiers: TierState[];
}

/**
 * A sliding-window-log rate limiter: a request is admitted only if, in every tier, fewer than
 * `limit` requests were admitted in the last `windowMs`, so no span of `windowMs` ever holds more
 * than `limit` admitted requests (no fixed-window double burst). The decision over all tiers is
 * atomic and a refused request is counted nowhere.
 *
 * It also implements `@nestjs/throttler`'s `ThrottlerStorage`, one tier per call, so it can be
 * handed to `ThrottlerModule` as its `storage`.
 *
 * ```ts
 * const result = await store.consume('ip:203.0.113.7', [
 *   { name: 'burst', bucket: 'burst', limit: 20, windowMs: 1_000 },
 *   { name: 'default', bucket: 'default', limit: 100, windowMs: 60_000 },
 * ]);
 * if (!result.allowed) reply.header('retry-after', Math.ceil(result.retryAfterMs / 1000));
 * ```
 */
export abstract class RateLimitStore implements ThrottlerStorage {
  /** Decides one request of `client` against every tier at once. */
  abstract consume(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult>;

  /**
   * The same decision, counting nothing: whether `consume` would admit a request now. The auth
   * failure limit asks this before it checks a credential, and consumes only when the check fails.
   */
  abstract peek(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult>;

  /**
   * `ThrottlerStorage` for `@nestjs/throttler`'s own guard: `ttl` in milliseconds, times returned in
   * seconds. `blockDuration` is not used: a refused client waits exactly until a slot frees.
   */
  async increment(key: string, ttl: number, limit: number, _blockDuration: number, throttlerName: string) {
    const result = await this.consume(key, [{ name: throttlerName, bucket: throttlerName, limit, windowMs: ttl }]);
    const tier = result.tiers[0];
    const waitSeconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    return {
      totalHits: result.allowed ? limit - (tier?.remaining ?? 0) : limit + 1,
      timeToExpire: Math.ceil((tier?.resetMs ?? 0) / 1000),
      isBlocked: !result.allowed,
      timeToBlockExpire: result.allowed ? 0 : waitSeconds,
    };
  }
}
