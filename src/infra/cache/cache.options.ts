import type { Type } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
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
   * (stale) when its reload fails because the database is unavailable (503). 0 = off; omitted:
   * `CACHE_DEFAULTS` (the same as `CACHE_STALE_IF_ERROR_SECONDS`'s default).
   */
  staleIfErrorMs?: number;
  /** Relative TTL jitter: 0.1 spreads TTLs over ±10% so entries written together expire apart. */
  jitter?: number;
  /** How long a load lease lives if its holder never releases it (it died). */
  leaseTtlMs?: number;
  /** XFetch β: > 1 refreshes hot keys earlier, < 1 later. */
  refreshBeta?: number;
  /** Name in `Cache-Status` (RFC 9211); `app` when omitted. */
  cacheName?: string;
}

/** The name the cache answers with in `Cache-Status`. */
export function cacheNameOf(behaviour: CacheBehaviour): string {
  return behaviour.cacheName ?? 'app';
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
      /** Timeout of write-through commands, which also bypass the open breaker (`CACHE_DEFAULTS` when omitted). */
      writeTimeoutMs?: number;
      breakerHalfOpenMs: number;
      /** > 0 adds the in-process tier in front of Redis (see TieredCacheStore for its bound). */
      l1TtlMs?: number;
      /** Bounds of the L1 tier. */
      bounds?: InProcessBounds;
    } & CacheBehaviour);

/** What `@Cached` takes: how a GET handler's answer is keyed, validated, kept and tagged. */
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
