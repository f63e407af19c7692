import type { CacheRecord } from './cache-record.js';
import type { StoreRead } from './cache.store.js';

/** What a loader produced, ready to store: the serialised body (or a 404 detail) and its version. */
export interface Loaded {
  status: 200 | 404;
  body: string;
  version: number;
}

export interface CachePolicy {
  /** TTL in ms (before jitter); the module default when omitted. */
  ttlMs?: number;
  /** Any change to one of these tags (`invalidateTags`) makes the entry a miss. */
  tags?: readonly string[];
  /** `cache` label of `cache_requests_total`. */
  name?: string;
}

/**
 * hit: from the cache; miss: this call ran the loader; collapsed: it shared another caller's load;
 * stale: an expired entry, answered because its reload failed with the database unavailable; bypass: cache off.
 */
export type CacheOutcome = 'hit' | 'miss' | 'collapsed' | 'stale' | 'bypass';

export interface Resolved {
  record: CacheRecord;
  outcome: CacheOutcome;
  /** Whether this call's load was stored (false when a newer value was there or the store failed). */
  stored: boolean;
}

/** One judged store read of `key` (see `lookupEntry`). */
export interface Lookup {
  key: string;
  /** Undefined when the store failed (`error`). */
  read?: StoreRead;
  error?: unknown;
  /** The entry, when it is fresh (not expired, tags unchanged). */
  fresh?: CacheRecord;
  /** Refresh-ahead picked this read to reload the fresh entry in the background. */
  refreshDue: boolean;
}

/**
 * The `result` label values of `cache_requests_total`. `coalesced` counts what `Cache-Status` and
 * `CacheOutcome` call `collapsed` (a caller that shared another caller's load); the metric's
 * label values are part of the dashboards' contract, so the two names stay.
 */
export type CacheResult = 'hit' | 'miss' | 'coalesced' | 'stale' | 'error';
