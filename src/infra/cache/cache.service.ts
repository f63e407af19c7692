import { HttpException, Inject, Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { isDatabaseUnavailable } from '../database/index.js';
import { MetricsService } from '../metrics/index.js';
import { CacheMetrics } from './cache.metrics.js';
import { CACHE_BEHAVIOUR } from './cache.tokens.js';
import { type CacheBehaviour, cacheNameOf } from './cache.options.js';
import { CacheStore, type StoreStatus } from './cache.store.js';
import type { CachePolicy, Loaded, Lookup, Resolved } from './cache.types.js';
import { EntryPolicy, lookupEntry, NO_TAGS } from './entry-policy.js';
import { LoadCoordinator } from './load-coordinator.js';

/**
 * The cache, as feature code and the interceptor use it. A hit is one store read; a miss goes to
 * the load coordinator (single flight, load lease, waiting for its holder, refresh-ahead); what
 * an entry is and when it may be answered (TTL and jitter, negative caching, stale-if-error, tag
 * generations) is the entry policy's. Every write is version-guarded by the store. Any store error
 * is a miss: logged, counted, never thrown at the caller.
 *
 * ```ts
 * const product = await cache.getOrLoad(`product:${id}`, () => repo.findById(id), {
 *   ttlMs: seconds(60),
 *   version: (p) => p.version,
 * });
 * await cache.invalidateTags(['products']);
 * ```
 */
@Injectable()
export class CacheService implements OnApplicationShutdown {
  private readonly logger = new Logger('Cache');
  private readonly entries: EntryPolicy;
  private readonly metrics: CacheMetrics;
  /** Null when the cache is off. */
  private readonly loads: LoadCoordinator | null;
  readonly cacheName: string;

  constructor(
    @Optional() @Inject(CacheStore) private readonly store: CacheStore | null,
    @Inject(CACHE_BEHAVIOUR) private readonly behaviour: CacheBehaviour,
    @Optional() metrics?: MetricsService,
  ) {
    this.entries = new EntryPolicy(behaviour);
    this.metrics = new CacheMetrics(metrics);
    this.cacheName = cacheNameOf(behaviour);
    // A lease outlives its holder by at most this: the longest a waiter waits for a dead holder.
    const leaseTtlMs = behaviour.leaseTtlMs ?? (behaviour.lockWaitMs > 0 ? behaviour.lockWaitMs : 5000);
    this.loads =
      store === null
        ? null
        : new LoadCoordinator(store, this.entries, this.metrics, { lockWaitMs: behaviour.lockWaitMs, leaseTtlMs });
  }

  get enabled(): boolean {
    return this.store !== null;
  }

  /** The store's health: which store, breaker state, command and failure counts. */
  status(): StoreStatus | { kind: 'none' } {
    return this.store?.status() ?? { kind: 'none' };
  }

  /**
   * The cached value of `key`, or the loader's (stored for next time). A loader answering
   * `undefined` means "not found" and is cached for the negative TTL.
   */
  async getOrLoad<T>(
    key: string,
    loader: () => Promise<T | undefined>,
    policy: CachePolicy & { version?: (value: T) => number } = {},
  ): Promise<T | undefined> {
    let loadedValue: { value: T | undefined } | undefined;
    const resolved = await this.resolve(key, policy, async () => {
      const value = await loader();
      loadedValue = { value };
      if (value === undefined) return { status: 404, body: '', version: 0 };
      return { status: 200, body: JSON.stringify(value), version: policy.version?.(value) ?? 0 };
    });
    // This call's own loader ran: hand its value back as it is (no JSON round trip).
    if (loadedValue !== undefined) return loadedValue.value;
    return resolved.record.status === 404 ? undefined : (JSON.parse(resolved.record.body) as T);
  }

  /**
   * The lookup the interceptor uses: a hit costs one store read; a miss runs `load` once per key
   * across processes (as far as the lease allows) and stores its result, version-guarded.
   * A hot entry is reloaded with `load` in the background before it expires (refresh-ahead).
   * Stale-if-error: when `load` fails because the database is unavailable (a 503), an expired 200
   * entry still within `staleIfErrorMs` of its TTL (and not replaced by a newer version or a tag
   * change) is answered instead, with outcome `stale`. `lookup`: a read of `key` already made
   * (the fast path's, handed over), so it is not read again.
   */
  async resolve(key: string, policy: CachePolicy, load: () => Promise<Loaded>, lookup?: Lookup): Promise<Resolved> {
    if (this.loads === null) {
      const record = this.entries.recordOf(await load(), NO_TAGS, [], 0, policy);
      return { record, outcome: 'bypass', stored: false };
    }
    const found = lookup ?? (await lookupEntry(this.store!, this.entries, key, policy));
    if (found.read === undefined) {
      // A failing read is a miss, but still goes through the lease: one failed command (a busy
      // machine) must not send every instance to the database. With Redis down the lease attempt
      // fails at once and this process loads (single flight still spares the database).
      this.metrics.failed('read', key, found.error, policy.name);
      return this.loads.fill(key, policy, load, undefined);
    }
    if (found.fresh !== undefined) {
      this.metrics.count(policy.name, 'hit');
      if (found.refreshDue) this.loads.refreshInBackground(key, policy, load);
      return { record: found.fresh, outcome: 'hit', stored: false };
    }
    const { record, generations } = found.read;
    const stale =
      record !== undefined && this.entries.isServableStale(record, policy.tags ?? NO_TAGS, generations)
        ? record
        : undefined;
    if (stale === undefined) return this.loads.fill(key, policy, load, generations);
    try {
      return await this.loads.fill(key, policy, load, generations);
    } catch (error) {
      // Tags were checked on read; the grace is checked again, as the failed load took time.
      if (!isUnavailable(error) || !this.entries.isServableStale(stale, NO_TAGS, [])) throw error;
      this.metrics.count(policy.name, 'stale');
      this.logger.debug(
        `serving ${key} stale: its reload failed with ${error instanceof Error ? error.message : String(error)}`,
      );
      return { record: stale, outcome: 'stale', stored: false };
    }
  }

  /**
   * Stores `value` as version `version` of `key` unless a newer version is already there
   * (write-through after a commit uses this). Never throws; resolves to whether it was stored.
   * Like `tombstone`, `delete` and `invalidateTags`, it is a `commit` write: on Redis it uses the
   * longer write timeout and is not refused by a breaker that slow reads opened.
   */
  async set(
    key: string,
    value: unknown,
    options: { version: number; ttlMs?: number; name?: string },
  ): Promise<boolean> {
    return this.write(key, { status: 200, body: JSON.stringify(value), version: options.version }, options);
  }

  /**
   * Leaves a tombstone for a deleted entity: reads of `key` answer 404 with `detail`, and no reader
   * that loaded the entity before the delete can store it again (the tombstone's version is newer).
   */
  async tombstone(
    key: string,
    deletedVersion: number,
    detail: string,
    options: { ttlMs?: number; name?: string } = {},
  ): Promise<boolean> {
    return this.write(key, { status: 404, body: detail, version: deletedVersion + 1 }, options);
  }

  /** Removes `key` outright. Prefer `set`/`tombstone`: a delete lets a slow reader store an older value. */
  async delete(key: string): Promise<void> {
    if (this.store === null) return;
    try {
      await this.store.delete(key, 'commit');
    } catch (error) {
      this.metrics.failed('delete', key, error);
    }
  }

  /** Every entry stored under one of `tags` becomes a miss (e.g. every list page after a create). */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    if (this.store === null || tags.length === 0) return;
    try {
      await this.store.bump(tags, 'commit');
    } catch (error) {
      this.metrics.failed('invalidate', tags.join(','), error);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.loads?.settled();
    await this.store?.close();
  }

  private async write(key: string, loaded: Loaded, options: { ttlMs?: number; name?: string }): Promise<boolean> {
    if (this.store === null) return false;
    const { record, ttlMs } = this.entries.writtenRecordOf(loaded, options.ttlMs);
    try {
      return await this.store.write(key, record, this.entries.retention(record, ttlMs), { mode: 'commit' });
    } catch (error) {
      this.metrics.failed('write', key, error, options.name);
      return false;
    }
  }
}

/** A load that failed because the database is unavailable (a 503), as opposed to an answer such as a 4xx. */
function isUnavailable(error: unknown): boolean {
  if (error instanceof HttpException) return error.getStatus() === 503;
  return isDatabaseUnavailable(error);
}
