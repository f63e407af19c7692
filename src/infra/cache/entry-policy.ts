import type { CacheRecord } from './cache-record.js';
import type { CacheBehaviour } from './cache.options.js';
import type { CacheStore } from './cache.store.js';
import type { CachePolicy, Loaded, Lookup } from './cache.types.js';

export const NO_TAGS: readonly string[] = [];
/** Refresh-ahead assumes a load takes at least this long, so hot write-through entries refresh too. */
const MIN_COMPUTE_MS = 25;

/**
 * What an entry is and when it may be answered: its TTL (jittered), the negative TTL of a 404,
 * the stale-if-error window, refresh-ahead (XFetch), and tag generations, which a tagged entry
 * carries summed in its `version` (any bump makes the sum differ, hence a miss).
 */
export class EntryPolicy {
  private readonly jitter: number;
  private readonly beta: number;
  private readonly staleMs: number;

  constructor(private readonly behaviour: CacheBehaviour) {
    this.jitter = behaviour.jitter ?? 0.1;
    this.beta = behaviour.refreshBeta ?? 1;
    this.staleMs = behaviour.staleIfErrorMs ?? 0;
  }

  /** The entry a load makes: a 404 for the negative TTL, a 200 for the (jittered) TTL, tagged by generations. */
  recordOf(
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

  /** The entry a write-through makes, and its life in ms (its TTL: the entry's logical life). */
  writtenRecordOf(loaded: Loaded, ttlMs: number | undefined): { record: CacheRecord; ttlMs: number } {
    // A tombstone lives as long as an entry would: it must outlast any reader that loaded the entity before the delete.
    const base = ttlMs ?? this.behaviour.ttlMs;
    const life = loaded.status === 404 ? Math.max(base, this.behaviour.negativeTtlMs) : this.jittered(base);
    return { record: { ...loaded, expiresAt: Date.now() + life, computeMs: 0 }, ttlMs: life };
  }

  isFresh(record: CacheRecord, tags: readonly string[], generations: ReadonlyArray<number | undefined>): boolean {
    return record.expiresAt > Date.now() && this.isCurrent(record, tags, generations);
  }

  /** Expired, but within the stale-if-error grace, a 200 and loaded under the tags' current generations. */
  isServableStale(
    record: CacheRecord,
    tags: readonly string[],
    generations: ReadonlyArray<number | undefined>,
  ): boolean {
    return (
      record.status === 200 && record.expiresAt + this.staleMs > Date.now() && this.isCurrent(record, tags, generations)
    );
  }

  /** Physical life of an entry: a 200 is kept `staleIfErrorMs` past its TTL, so it can be served stale-if-error. */
  retention(record: CacheRecord, ttlMs: number): number {
    return record.status === 200 ? ttlMs + this.staleMs : ttlMs;
  }

  /** XFetch: recompute early with a probability that grows as expiry nears and with the load's cost. */
  shouldRefresh(record: CacheRecord): boolean {
    if (record.status !== 200) return false;
    const delta = Math.max(record.computeMs, MIN_COMPUTE_MS);
    return Date.now() - delta * this.beta * Math.log(Math.random()) >= record.expiresAt;
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

  private jittered(ttlMs: number): number {
    return Math.max(1, Math.round(ttlMs * (1 + this.jitter * (2 * Math.random() - 1))));
  }
}

/**
 * One store read of `key`, judged (fresh? due for refresh-ahead?) but not counted: whoever answers
 * a fresh entry counts the hit, and any other lookup can be handed to `CacheService.resolve`,
 * which then does not read again. A failing store is a lookup with `error`, never a throw.
 */
export async function lookupEntry(
  store: CacheStore,
  entries: EntryPolicy,
  key: string,
  policy: CachePolicy,
): Promise<Lookup> {
  const tags = policy.tags ?? NO_TAGS;
  try {
    const read = await store.read(key, tags);
    const record = read.record;
    if (record === undefined || !entries.isFresh(record, tags, read.generations))
      return { key, read, refreshDue: false };
    return { key, read, fresh: record, refreshDue: entries.shouldRefresh(record) };
  } catch (error) {
    return { key, error, refreshDue: false };
  }
}
