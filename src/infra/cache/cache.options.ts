import type { InProcessBounds } from './memory.store.js';

/** Behaviour shared by every store. Durations in milliseconds. */
export interface CacheBehaviour {
  /** Default TTL of an entry (before jitter). */
  ttlMs: number;
  /** TTL of a 404 seen by a reader; 0 disables negative caching. */
  negativeTtlMs: number;
  /**
   * TTL of the load lease (renewed by its holder while it loads): a miss waits for the holder as
   * long as the lease lives, so this bounds the wait for a holder that died. 0: never wait.
   */
  lockWaitMs: number;
  /**
   * Stale-if-error: entries are kept this long past their TTL, and an expired one is answered
   * (stale) when its reload fails because the database is unavailable (503). 0 or omitted = off.
   */
  staleIfErrorMs?: number;
  /** Relative TTL jitter: 0.1 spreads TTLs over ±10% so entries written together expire apart. */
  jitter?: number;
  /** How long a load lease lives if its holder never releases it (it died). */
  leaseTtlMs?: number;
  /** XFetch β: > 1 refreshes hot keys earlier, < 1 later. */
  refreshBeta?: number;
  /** Name in `Cache-Status` (RFC 9211). */
  cacheName?: string;
}

/**
 * The options of `CacheModule.forRoot`, a union on `store`:
 * `none` turns caching off (handlers always run; ETag and 304 still work),
 * `memory` keeps entries in this process, `redis` shares them (optionally with an L1 tier).
 */
export type CacheModuleOptions =
  | ({ store: 'none' } & Partial<CacheBehaviour>)
  | ({ store: 'memory'; bounds?: InProcessBounds } & CacheBehaviour)
  | ({
      store: 'redis';
      url: string;
      keyPrefix: string;
      commandTimeoutMs: number;
      /** Timeout of write-through commands, which also bypass the open breaker (default 2000). */
      writeTimeoutMs?: number;
      breakerHalfOpenMs: number;
      /** > 0 adds the in-process tier in front of Redis (see TieredCacheStore for its bound). */
      l1TtlMs?: number;
      /** Bounds of the L1 tier. */
      bounds?: InProcessBounds;
    } & CacheBehaviour);
