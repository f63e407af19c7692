// Over 250 lines on purpose: single flight, the lease, the wait for its holder and refresh-ahead
// share one flight map and one logical clock (who may share a flight), and each step's ordering
// argument refers to the others; split apart, each file would need the others' private state.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CacheRecord } from './cache-record.js';
import type { CacheMetrics } from './cache.metrics.js';
import type { CacheStore } from './cache.store.js';
import type { CachePolicy, Loaded, Resolved } from './cache.types.js';
import { type EntryPolicy, NO_TAGS } from './entry-policy.js';

/**
 * A flight's answer, with `since`: the coordinator's logical clock when the store read or load it
 * comes from began. A caller that joined the flight later cannot share it (see `fill`).
 */
interface Flown extends Resolved {
  since: number;
}

/** A waiter's first look for the holder's value, and the most it backs off to (one read and one lease attempt per look). */
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 50;

/**
 * Who loads a missing entry: single flight per key in this process, a load lease across processes
 * (renewed by its holder while the load runs; the others wait for the holder's value as long as
 * the lease lives), and refresh-ahead in the background. A load is stored only under the lease it
 * ran under, version-guarded by the store.
 */
export class LoadCoordinator {
  private readonly flights = new Map<string, Promise<Flown>>();
  /** Orders, within this process, a caller's arrival against the start of a flight's read or load. */
  private clock = 0;
  private readonly refreshing = new Set<string>();

  constructor(
    private readonly store: CacheStore,
    private readonly entries: EntryPolicy,
    private readonly metrics: CacheMetrics,
    /** How long a waiter keeps waiting on a store that fails (0: never wait), and the lease's TTL. */
    private readonly timing: { lockWaitMs: number; leaseTtlMs: number },
  ) {}

  /**
   * Single flight: a miss joins this process's load of `key` if there is one. A flight shares its
   * answer only with the callers that were already there when the read or load it comes from
   * began: a caller arriving after that may be reading after a write that flight's load did not
   * see (its client's own write, acknowledged just before), so it waits for the flight to end and
   * looks again (`lookAgain`: the flight's stored value, or a newer one; else a flight of its own).
   * `seen`: the tags' generations from the caller's read, if it made one.
   */
  fill(
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
        this.metrics.count(policy.name, 'coalesced');
        return { record: flown.record, outcome: 'collapsed', stored: false };
      });
    }
    const flight = this.fly(key, policy, load, seen).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    return flight;
  }

  /** Reloads a fresh entry before it expires, once per key at a time, unless a flight is loading it. */
  refreshInBackground(key: string, policy: CachePolicy, load: () => Promise<Loaded>): void {
    if (this.refreshing.has(key) || this.flights.has(key)) return;
    this.refreshing.add(key);
    this.refresh(key, policy, load)
      .catch((error: unknown) => this.metrics.failed('refresh', key, error, policy.name))
      .finally(() => this.refreshing.delete(key));
  }

  /** Resolves once every flight under way has ended (shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.flights.values()]);
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
      const read = await this.store.read(key, tags);
      if (read.record !== undefined && this.entries.isFresh(read.record, tags, read.generations)) {
        this.metrics.count(policy.name, 'coalesced');
        return { record: read.record, outcome: 'collapsed', stored: false };
      }
      seen = read.generations;
    } catch (error) {
      this.metrics.failed('read', key, error, policy.name);
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
    const store = this.store;
    const tags = policy.tags ?? NO_TAGS;
    const token = randomUUID();
    let leased = false;
    let taken = false;
    try {
      leased = await store.acquire(key, token, this.timing.leaseTtlMs);
      taken = !leased;
    } catch (error) {
      // The store is failing: nobody can be waited for; this process loads (single flight).
      this.metrics.failed('lease', key, error, policy.name);
    }
    if (taken && this.timing.lockWaitMs > 0) {
      const waited = await this.waitForHolder(key, tags, token, policy.name);
      if (waited.record !== undefined) {
        this.metrics.count(policy.name, 'coalesced');
        return { record: waited.record, outcome: 'collapsed', stored: false, since: waited.since };
      }
      leased = waited.leased;
    }
    if (leased) {
      // Double-check: the previous holder may have stored the value (and freed the lease) between our read and our lease.
      try {
        const since = this.tick();
        const again = await store.read(key, tags);
        if (again.record !== undefined && this.entries.isFresh(again.record, tags, again.generations)) {
          void store.release(key, token).catch(() => undefined);
          this.metrics.count(policy.name, 'coalesced');
          return { record: again.record, outcome: 'collapsed', stored: false, since };
        }
        seen = again.generations;
      } catch (error) {
        this.metrics.failed('read', key, error, policy.name);
      }
    }
    // The generations are taken before the load, so a write committed during it makes this entry stale, never the reverse.
    let generations: number[] | undefined = seen !== undefined && seen.every((g) => g !== undefined) ? seen : undefined;
    if (generations === undefined && tags.length > 0) {
      try {
        generations = await store.generations(tags);
      } catch (error) {
        this.metrics.failed('generations', key, error, policy.name);
      }
    }
    this.metrics.count(policy.name, 'miss');
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
    const record = this.entries.recordOf(loaded, tags, generations ?? [], performance.now() - started, policy);
    const ttlMs = record.expiresAt - Date.now();
    // Stored only under the lease it was loaded under: a write-through committed during the load
    // takes that lease, so what was loaded before it is refused even when the newer entry has
    // gone (expired, evicted, a Redis restarted empty) and the version guard has nothing to compare.
    // An unleased load (the store failed) is not stored: nothing could have refused it.
    const storable = leased && ttlMs > 0 && (tags.length === 0 || generations !== undefined);
    let stored = false;
    if (storable) {
      try {
        stored = await store.write(key, record, this.entries.retention(record, ttlMs), { lease: token });
      } catch (error) {
        this.metrics.failed('write', key, error, policy.name);
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
    const store = this.store;
    let delay = FIRST_POLL_MS;
    let answeredAt = Date.now();
    for (;;) {
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_POLL_MS);
      const since = this.tick();
      try {
        const read = await store.read(key, tags);
        if (read.record !== undefined && this.entries.isFresh(read.record, tags, read.generations))
          return { record: read.record, since, leased: false };
        if (await store.acquire(key, token, this.timing.leaseTtlMs)) return { since, leased: true };
        answeredAt = Date.now();
      } catch (error) {
        this.metrics.failed('lease', key, error, name);
        if (Date.now() - answeredAt >= this.timing.lockWaitMs) return { since, leased: false };
      }
    }
  }

  /** Renews the lease every quarter of its TTL while a load runs (stop it with `clearInterval`). */
  private keepLease(key: string, token: string): NodeJS.Timeout {
    const leaseTtlMs = this.timing.leaseTtlMs;
    const timer = setInterval(
      () => {
        this.store
          .renew(key, token, leaseTtlMs)
          .catch((error: unknown) => this.metrics.failed('lease renewal', key, error));
      },
      Math.max(10, Math.floor(leaseTtlMs / 4)),
    );
    timer.unref();
    return timer;
  }

  /** Reloads an entry before it expires; only the instance that gets the lease does it. */
  private async refresh(key: string, policy: CachePolicy, load: () => Promise<Loaded>): Promise<void> {
    const store = this.store;
    const tags = policy.tags ?? NO_TAGS;
    const token = randomUUID();
    if (!(await store.acquire(key, token, this.timing.leaseTtlMs))) return;
    // Renewed while it loads: a fill that misses meanwhile waits for this refresh's value.
    const renewal = this.keepLease(key, token);
    try {
      const generations = await store.generations(tags);
      const started = performance.now();
      const loaded = await load();
      clearInterval(renewal);
      const record = this.entries.recordOf(loaded, tags, generations, performance.now() - started, policy);
      const ttlMs = record.expiresAt - Date.now();
      if (ttlMs > 0) await store.write(key, record, this.entries.retention(record, ttlMs), { lease: token });
      else await store.release(key, token);
    } catch (error) {
      await store.release(key, token).catch(() => undefined);
      throw error;
    } finally {
      clearInterval(renewal);
    }
  }
}
