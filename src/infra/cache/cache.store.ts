import type { CacheRecord } from './cache-record.js';

/** What one lookup returns: the entry (if any) and the current generation of each tag asked for. */
export interface StoreRead {
  record: CacheRecord | undefined;
  /** Aligned with the tags asked for; `undefined` where the store has no generation for a tag yet. */
  generations: Array<number | undefined>;
}

/** Health of a store as tests and operators see it. `breaker` is only meaningful for Redis. */
export interface StoreStatus {
  kind: CacheStoreKind;
  breaker: 'closed' | 'open' | 'half-open' | 'isolated' | 'none';
  /** Commands sent to the backend, commands that failed, and calls the open breaker refused. */
  commands: number;
  failures: number;
  shortCircuited: number;
}

export type CacheStoreKind = 'memory' | 'redis' | 'tiered';

/**
 * How hard a change tries. `fill`: a reader storing what it loaded, fail-fast like a read (short
 * timeout, refused by an open breaker). `commit`: a write-through that runs before a write is
 * acknowledged (a longer timeout, and never refused by an open breaker: it tries Redis itself);
 * it also takes the key's load lease away, so no reader that loaded before it can store.
 */
export type WriteMode = 'fill' | 'commit';

export interface WriteOptions {
  /**
   * The load lease the value was loaded under: stored only if that lease is still held (a
   * write-through, a delete or a store that lost its data since took it away), and released in
   * the same step.
   */
  lease?: string;
  mode?: WriteMode;
}

/**
 * The one seam between the cache service and a backend. Every store applies the same rules
 * (checked by the shared contract suite): `write` never replaces a newer version, a write under a
 * lease needs that lease still held, a `commit` write or a delete takes the key's lease away, a
 * lease is held by one token at a time, and generations only grow. Errors are thrown, never
 * swallowed: the service decides that a failing store is a miss.
 */
export interface CacheStore {
  readonly kind: CacheStoreKind;
  /** One round trip: the entry under `key` and the generations of `tags`. */
  read(key: string, tags: readonly string[]): Promise<StoreRead>;
  /** The generations of `tags`, starting any that do not exist yet. */
  generations(tags: readonly string[]): Promise<number[]>;
  /**
   * Stores `record` for `ttlMs` (its physical life: `record.expiresAt` is the logical one) unless a
   * newer version is there (see `mayReplace`) or, when `lease` is given, that lease is no longer
   * held (then releases it in the same step). Resolves to whether the record was stored.
   */
  write(key: string, record: CacheRecord, ttlMs: number, options?: WriteOptions): Promise<boolean>;
  /** Removes the entry and the key's lease (a reader loading now loaded what the delete removes). */
  delete(key: string, mode?: WriteMode): Promise<void>;
  /** Moves every tag to a new generation: entries loaded under the old one no longer match. */
  bump(tags: readonly string[], mode?: WriteMode): Promise<void>;
  /** Takes the load lease of `key` for `ttlMs` if nobody holds it. */
  acquire(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease to `ttlMs` from now if `token` still holds it; resolves to whether it does. */
  renew(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Releases the lease only if `token` still holds it (a late holder never frees someone else's). */
  release(key: string, token: string): Promise<void>;
  status(): StoreStatus;
  close(): Promise<void>;
}

/** Injection token of the active store (absent when the cache is off). */
export const CacheStore = Symbol('CacheStore');
