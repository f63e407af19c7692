import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpException, Inject, Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { isDatabaseUnavailable } from '../database/index.js';
import { MetricsService } from '../metrics/index.js';
import type { CacheRecord } from './cache-record.js';
import { CACHE_BEHAVIOUR } from './cache.tokens.js';
import type { CacheBehaviour } from './cache.options.js';
import { CacheStore, type StoreRead, type StoreStatus } from './cache.store.js';

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

/** One judged store read (see `CacheService.lookup`). */
export interface Lookup {
  /** Undefined when the store failed (`error`). */
  read?: StoreRead;
  error?: unknown;
  /** The entry, when it is fresh (not expired, tags unchanged). */
  fresh?: CacheRecord;
  /** Refresh-ahead picked this read to reload the fresh entry in the background. */
  refreshDue: boolean;
}

/**
 * A flight's answer, with `since`: the service's logical clock when the store read or load it
 * comes from began. A caller that joined the flight later cannot share it (see `fill`).
 */
interface Flown extends Resolved {
  since: number;
}

/** The `result` label values of `cache_requests_total`. */
export type CacheResult = 'hit' | 'miss' | 'coalesced' | 'stale' | 'error';

const NO_TAGS: readonly string[] = [];
/** A waiter's first look for the holder's value, and the most it backs off to (one read and one lease attempt per look). */
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 50;
/** Refresh-ahead assumes a load takes at least this long, so hot write-through entries refresh too. */
const MIN_COMPUTE_MS = 25;

/**
 * The cache, as feature code and the interceptor use it. Inside: single flight per key in this
 * process, a load lease across processes (renewed by its holder while the load runs; the others
 * wait for the holder's value as long as the lease lives), TTL jitter, negative caching, refresh-ahead (XFetch), tag generations, and a version
 * guard on every write. Any store error is a miss: logged, counted, never thrown at the caller.
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
  private readonly flights = new Map<string, Promise<Flown>>();
  /** Orders, within this process, a caller's arrival against the start of a flight's read or load. */
  private clock = 0;
  private readonly refreshing = new Set<string>();
  private readonly counters = new Map<string, Map<CacheResult, ReturnType<Counter<'cache' | 'result'>['labels']>>>();
  private readonly jitter: number;
  private readonly leaseTtlMs: number;
  private readonly beta: number;
  private readonly staleMs: number;
  readonly cacheName: string;

  constructor(
    @Optional() @Inject(CacheStore) private readonly store: CacheStore | null,
    @Inject(CACHE_BEHAVIOUR) private readonly behaviour: CacheBehaviour,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.jitter = behaviour.jitter ?? 0.1;
    // A lease outlives its holder by at most this: the longest a waiter waits for a dead holder.
    this.leaseTtlMs = behaviour.leaseTtlMs ?? (behaviour.lockWaitMs > 0 ? behaviour.lockWaitMs : 5000);
    this.beta = behaviour.refreshBeta ?? 1;
    this.cacheName = behaviour.cacheName ?? 'app';
    this.staleMs = behaviour.staleIfErrorMs ?? 0;
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
   * change) is answered instead, with outcome `stale`.
   */
  async resolve(key: string, policy: CachePolicy, load: () => Promise<Loaded>, lookup?: Lookup): Promise<Resolved> {
    if (this.store === null)
      return { record: this.toRecord(await load(), NO_TAGS, [], 0, policy), outcome: 'bypass', stored: false };
    const found = lookup ?? (await this.lookup(key, policy));
    if (found.read === undefined) {
      // A failing read is a miss, but still goes through the lease: one failed command (a busy
      // machine) must not send every instance to the database. With Redis down the lease attempt
      // fails at once and this process loads (single flight still spares the database).
      this.failed('read', key, found.error, policy.name);
      return this.fill(key, policy, load, undefined);
    }
    if (found.fresh !== undefined) {
      this.count(policy.name, 'hit');
      if (found.refreshDue) this.refreshInBackground(key, policy, load);
      return { record: found.fresh, outcome: 'hit', stored: false };
    }
    const { record, generations } = found.read;
    const stale =
      record !== undefined && this.isServableStale(record, policy.tags ?? NO_TAGS, generations) ? record : undefined;
    if (stale === undefined) return this.fill(key, policy, load, generations);
    try {
      return await this.fill(key, policy, load, generations);
    } catch (error) {
      // Tags were checked on read; the grace is checked again, as the failed load took time.
      if (!isUnavailable(error) || !this.isServableStale(stale, NO_TAGS, [])) throw error;
      this.count(policy.name, 'stale');
      this.logger.debug(
        `serving ${key} stale: its reload failed with ${error instanceof Error ? error.message : String(error)}`,
      );
      return { record: stale, outcome: 'stale', stored: false };
    }
  }

  /**
   * The first half of `resolve`: one store read of `key`, judged (fresh? due for refresh-ahead?)
   * but not counted. A caller that answers a fresh entry itself counts the hit; any other lookup
   * can be handed to `resolve`, which then does not read again.
   */
  async lookup(key: string, policy: CachePolicy): Promise<Lookup> {
    if (this.store === null) throw new Error('lookup needs a cache store (the cache is off)');
    const tags = policy.tags ?? NO_TAGS;
    try {
      const read = await this.store.read(key, tags);
      const record = read.record;
      if (record === undefined || !this.isFresh(record, tags, read.generations)) return { read, refreshDue: false };
      return { read, fresh: record, refreshDue: this.shouldRefresh(record) };
    } catch (error) {
      return { error, refreshDue: false };
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
      this.failed('delete', key, error);
    }
  }

  /** Every entry stored under one of `tags` becomes a miss (e.g. every list page after a create). */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    if (this.store === null || tags.length === 0) return;
    try {
      await this.store.bump(tags, 'commit');
    } catch (error) {
      this.failed('invalidate', tags.join(','), error);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.flights.values()]);
    await this.store?.close();
  }

  /** Counts one lookup in `cache_requests_total{cache,result}` (label children are reused: this runs per request). */
  count(name: string | undefined, result: CacheResult): void {
    if (this.metrics === undefined) return;
    const cache = name ?? 'default';
    let children = this.counters.get(cache);
    if (children === undefined)
      this.counters.set(cache, (children = new Map<CacheResult, ReturnType<Counter<'cache' | 'result'>['labels']>>()));
    let child = children.get(result);
    if (child === undefined) children.set(result, (child = this.metrics.cacheRequests.labels(cache, result)));
    child.inc();
  }

  private async write(key: string, loaded: Loaded, options: { ttlMs?: number; name?: string }): Promise<boolean> {
    if (this.store === null) return false;
    // A tombstone lives as long as an entry would: it must outlast any reader that loaded the entity before the delete.
    const base = options.ttlMs ?? this.behaviour.ttlMs;
    const ttlMs = loaded.status === 404 ? Math.max(base, this.behaviour.negativeTtlMs) : this.jittered(base);
    const record: CacheRecord = { ...loaded, expiresAt: Date.now() + ttlMs, computeMs: 0 };
    try {
      return await this.store.write(key, record, this.retention(record, ttlMs), { mode: 'commit' });
    } catch (error) {
      this.failed('write', key, error, options.name);
      return false;
    }
  }

  /**
   * Single flight: a miss joins this process's load of `key` if there is one. A flight shares its
   * answer only with the callers that were already there when the read or load it comes from
   * began: a caller arriving after that may be reading after a write that flight's load did not
   * see (its client's own write, acknowledged just before), so it waits for the flight to end and
   * looks again (`lookAgain`: the flight's stored value, or a newer one; else a flight of its own).
   */
  private fill(
    key: string,
    policy: CachePolicy,
    load: () => Promise<Loaded>,
    seen: Array<number | undefined> | undefined,
    arrival = this.tick(),
  ): Promise<Resolved> {
    const inFlight = this.flights.get(key);
    if (inFlight !== undefined) {
      return inFlight.then((flown) => {
        if (flown.since < arrival) return this.lookAgain(key, policy, load, arrival);
        this.count(policy.name, 'coalesced');
        return { record: flown.record, outcome: 'collapsed', stored: false };
      });
    }
    const flight = this.fly(key, policy, load, seen).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    return flight;
  }

  /**
   * After a flight this caller could not share: one store read (the flight stored its value, or a
   * write-through a newer one), else a fill. Any flight in the map now started after the one that
   * ended, hence after this caller arrived: the fill can share it.
   */
  private async lookAgain(
    key: string,
    policy: CachePolicy,
    load: () => Promise<Loaded>,
    arrival: number,
  ): Promise<Resolved> {
    const tags = policy.tags ?? NO_TAGS;
    let seen: Array<number | undefined> | undefined;
    try {
      const read = await this.store!.read(key, tags);
      if (read.record !== undefined && this.isFresh(read.record, tags, read.generations)) {
        this.count(policy.name, 'coalesced');
        return { record: read.record, outcome: 'collapsed', stored: false };
      }
      seen = read.generations;
    } catch (error) {
      this.failed('read', key, error, policy.name);
    }
    return this.fill(key, policy, load, seen, arrival);
  }

  private tick(): number {
    return ++this.clock;
  }

  /** One load for `key` in this process: take the lease or wait for its holder, then load and store. */
  private async fly(
    key: string,
    policy: CachePolicy,
    load: () => Promise<Loaded>,
    seen: Array<number | undefined> | undefined,
  ): Promise<Flown> {
    const store = this.store!;
    const tags = policy.tags ?? NO_TAGS;
    const token = randomUUID();
    let leased = false;
    let taken = false;
    try {
      leased = await store.acquire(key, token, this.leaseTtlMs);
      taken = !leased;
    } catch (error) {
      // The store is failing: nobody can be waited for; this process loads (single flight).
      this.failed('lease', key, error, policy.name);
    }
    if (taken && this.behaviour.lockWaitMs > 0) {
      const waited = await this.waitForHolder(key, tags, token, policy.name);
      if (waited.record !== undefined) {
        this.count(policy.name, 'coalesced');
        return { record: waited.record, outcome: 'collapsed', stored: false, since: waited.since };
      }
      leased = waited.leased;
    }
    if (leased) {
      // Double-check: the previous holder may have stored the value (and freed the lease) between our read and our lease.
      try {
        const since = this.tick();
        const again = await store.read(key, tags);
        if (again.record !== undefined && this.isFresh(again.record, tags, again.generations)) {
          void store.release(key, token).catch(() => undefined);
          this.count(policy.name, 'coalesced');
          return { record: again.record, outcome: 'collapsed', stored: false, since };
        }
        seen = again.generations;
      } catch (error) {
        this.failed('read', key, error, policy.name);
      }
    }
    // The generations are taken before the load, so a write committed during it makes this entry stale, never the reverse.
    let generations: number[] | undefined = seen !== undefined && seen.every((g) => g !== undefined) ? seen : undefined;
    if (generations === undefined && tags.length > 0) {
      try {
        generations = await store.generations(tags);
      } catch (error) {
        this.failed('generations', key, error, policy.name);
      }
    }
    this.count(policy.name, 'miss');
    const since = this.tick();
    const started = performance.now();
    let loaded: Loaded;
    const renewal = leased ? this.keepLease(key, token) : undefined;
    try {
      loaded = await load();
    } catch (error) {
      if (leased) await store.release(key, token).catch(() => undefined);
      throw error;
    } finally {
      clearInterval(renewal);
    }
    const record = this.toRecord(loaded, tags, generations ?? [], performance.now() - started, policy);
    const ttlMs = record.expiresAt - Date.now();
    // Stored only under the lease it was loaded under: a write-through committed during the load
    // takes that lease, so what was loaded before it is refused even when the newer entry has
    // gone (expired, evicted, a Redis restarted empty) and the version guard has nothing to compare.
    // An unleased load (the store failed) is not stored: nothing could have refused it.
    const storable = leased && ttlMs > 0 && (tags.length === 0 || generations !== undefined);
    let stored = false;
    if (storable) {
      try {
        stored = await store.write(key, record, this.retention(record, ttlMs), { lease: token });
      } catch (error) {
        this.failed('write', key, error, policy.name);
      }
    } else if (leased) {
      await store.release(key, token).catch(() => undefined);
    }
    return { record, outcome: 'miss', stored, since };
  }

  /**
   * Waits for the lease holder's value as long as its lease lives: the holder renews it while it
   * loads, so a slow load keeps the waiters waiting, not loading. Each look (backing off from
   * `FIRST_POLL_MS` to `MAX_POLL_MS`) reads the entry and, when it is not there, tries to take the
   * lease: only a lease that is gone without a fresh value (the holder died, failed, or its value
   * was not storable) lets this waiter load, and it loads holding the lease itself, so the other
   * waiters keep waiting. A store that keeps failing for `lockWaitMs` ends the wait unleased.
   */
  private async waitForHolder(
    key: string,
    tags: readonly string[],
    token: string,
    name: string | undefined,
  ): Promise<{ record?: CacheRecord; since: number; leased: boolean }> {
    const store = this.store!;
    let delay = FIRST_POLL_MS;
    let answeredAt = Date.now();
    for (;;) {
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_POLL_MS);
      const since = this.tick();
      try {
        const read = await store.read(key, tags);
        if (read.record !== undefined && this.isFresh(read.record, tags, read.generations))
          return { record: read.record, since, leased: false };
        if (await store.acquire(key, token, this.leaseTtlMs)) return { since, leased: true };
        answeredAt = Date.now();
      } catch (error) {
        this.failed('lease', key, error, name);
        if (Date.now() - answeredAt >= this.behaviour.lockWaitMs) return { since, leased: false };
      }
    }
  }

  /** Renews the lease every quarter of its TTL while a load runs (stop it with `clearInterval`). */
  private keepLease(key: string, token: string): NodeJS.Timeout {
    const timer = setInterval(
      () => {
        this.store!.renew(key, token, this.leaseTtlMs).catch((error: unknown) =>
          this.failed('lease renewal', key, error),
        );
      },
      Math.max(10, Math.floor(this.leaseTtlMs / 4)),
    );
    timer.unref();
    return timer;
  }

  private refreshInBackground(key: string, policy: CachePolicy, load: () => Promise<Loaded>): void {
    if (this.refreshing.has(key) || this.flights.has(key)) return;
    this.refreshing.add(key);
    this.refresh(key, policy, load)
      .catch((error: unknown) => this.failed('refresh', key, error, policy.name))
      .finally(() => this.refreshing.delete(key));
  }

  /** Reloads an entry before it expires; only the instance that gets the lease does it. */
  private async refresh(key: string, policy: CachePolicy, load: () => Promise<Loaded>): Promise<void> {
    const store = this.store!;
    const tags = policy.tags ?? NO_TAGS;
    const token = randomUUID();
    if (!(await store.acquire(key, token, this.leaseTtlMs))) return;
    // Renewed while it loads: a fill that misses meanwhile waits for this refresh's value.
    const renewal = this.keepLease(key, token);
    try {
      const generations = await store.generations(tags);
      const started = performance.now();
      const loaded = await load();
      clearInterval(renewal);
      const record = this.toRecord(loaded, tags, generations, performance.now() - started, policy);
      const ttlMs = record.expiresAt - Date.now();
      if (ttlMs > 0) await store.write(key, record, this.retention(record, ttlMs), { lease: token });
      else await store.release(key, token);
    } catch (error) {
      await store.release(key, token).catch(() => undefined);
      throw error;
    } finally {
      clearInterval(renewal);
    }
  }

  private toRecord(
    loaded: Loaded,
    tags: readonly string[],
    generations: readonly number[],
    computeMs: number,
    policy: CachePolicy,
  ): CacheRecord {
    const ttlMs =
      loaded.status === 404 ? this.behaviour.negativeTtlMs : this.jittered(policy.ttlMs ?? this.behaviour.ttlMs);
    let version = loaded.status === 404 ? 0 : loaded.version;
    if (tags.length > 0) version = generations.reduce((sum, g) => sum + g, 0);
    return {
      version,
      status: loaded.status,
      body: loaded.body,
      expiresAt: Date.now() + ttlMs,
      computeMs: Math.round(computeMs),
    };
  }

  private isFresh(
    record: CacheRecord,
    tags: readonly string[],
    generations: ReadonlyArray<number | undefined>,
  ): boolean {
    return record.expiresAt > Date.now() && this.isCurrent(record, tags, generations);
  }

  /** Expired, but within the stale-if-error grace, a 200 and loaded under the tags' current generations. */
  private isServableStale(
    record: CacheRecord,
    tags: readonly string[],
    generations: ReadonlyArray<number | undefined>,
  ): boolean {
    return (
      record.status === 200 && record.expiresAt + this.staleMs > Date.now() && this.isCurrent(record, tags, generations)
    );
  }

  /** Physical life of an entry: a 200 is kept `staleIfErrorMs` past its TTL, so it can be served stale-if-error. */
  private retention(record: CacheRecord, ttlMs: number): number {
    return record.status === 200 ? ttlMs + this.staleMs : ttlMs;
  }

  /** No tag of the entry changed since it was loaded. */
  private isCurrent(
    record: CacheRecord,
    tags: readonly string[],
    generations: ReadonlyArray<number | undefined>,
  ): boolean {
    if (tags.length === 0) return true;
    let sum = 0;
    for (const generation of generations) {
      if (generation === undefined) return false;
      sum += generation;
    }
    return record.version === sum;
  }

  /** XFetch: recompute early with a probability that grows as expiry nears and with the load's cost. */
  private shouldRefresh(record: CacheRecord): boolean {
    if (record.status !== 200) return false;
    const delta = Math.max(record.computeMs, MIN_COMPUTE_MS);
    return Date.now() - delta * this.beta * Math.log(Math.random()) >= record.expiresAt;
  }

  private jittered(ttlMs: number): number {
    return Math.max(1, Math.round(ttlMs * (1 + this.jitter * (2 * Math.random() - 1))));
  }

  private failed(operation: string, key: string, error: unknown, name?: string): void {
    this.count(name, 'error');
    this.logger.debug(
      `cache ${operation} failed for ${key}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** A load that failed because the database is unavailable (a 503), as opposed to an answer such as a 4xx. */
function isUnavailable(error: unknown): boolean {
  if (error instanceof HttpException) return error.getStatus() === 503;
  return isDatabaseUnavailable(error);
}
