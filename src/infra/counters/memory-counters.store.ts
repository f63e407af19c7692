import {
  type BucketRange,
  bucketExpiresAt,
  bucketsOf,
  type CounterFamily,
  type CounterIncrement,
  type CountersStore,
  type MemberCount,
  type MemberTotals,
} from './counters.store.js';

interface Bucket {
  expiresAt: number;
  counts: Map<string, number>;
  /** Exact sets: this store is for one process (development, embedded mode, tests). */
  ids: Map<string, Set<string>>;
}

export interface MemoryCountersOptions {
  /**
   * Distinct ids kept over every bucket. Past it the oldest buckets go first; if the current one
   * alone is past it, counts still grow but new ids are not kept (distinct counts fall short).
   */
  maxIds: number;
  /** The clock (tests move it). */
  now?: () => number;
}

/**
 * Counters in this process. Counts are exact and so are distinct counts (sets, not
 * HyperLogLogs), within `maxIds`. Buckets expire as the Redis store's do.
 */
export class MemoryCountersStore implements CountersStore {
  readonly kind = 'memory';
  private readonly families = new Map<string, Map<number, Bucket>>();
  private readonly now: () => number;
  private ids = 0;

  constructor(private readonly options: MemoryCountersOptions) {
    this.now = options.now ?? Date.now;
  }

  add(family: CounterFamily, increments: readonly CounterIncrement[]): Promise<void> {
    this.expire();
    const buckets = this.bucketsOf(family);
    for (const increment of increments) {
      let bucket = buckets.get(increment.bucket);
      if (bucket === undefined) {
        bucket = { expiresAt: bucketExpiresAt(family, increment.bucket), counts: new Map(), ids: new Map() };
        buckets.set(increment.bucket, bucket);
      }
      bucket.counts.set(increment.member, (bucket.counts.get(increment.member) ?? 0) + increment.count);
      let ids = bucket.ids.get(increment.member);
      if (ids === undefined) bucket.ids.set(increment.member, (ids = new Set()));
      for (const id of increment.ids) {
        if (ids.has(id)) continue;
        if (this.ids >= this.options.maxIds && !this.dropOldestBucket(bucket)) break;
        ids.add(id);
        this.ids += 1;
      }
    }
    return Promise.resolve();
  }

  top(family: CounterFamily, range: BucketRange, limit: number): Promise<MemberCount[]> {
    this.expire();
    const totals = new Map<string, number>();
    for (const bucket of this.inRange(family, range)) {
      for (const [member, count] of bucket.counts) totals.set(member, (totals.get(member) ?? 0) + count);
    }
    // Redis orders equal scores by member, descending, in a reversed range: the same here.
    const ranked = [...totals].sort(([a, x], [b, y]) => y - x || (a < b ? 1 : a > b ? -1 : 0));
    return Promise.resolve(ranked.slice(0, limit).map(([member, count]) => ({ member, count })));
  }

  totals(family: CounterFamily, member: string, ranges: readonly BucketRange[]): Promise<MemberTotals[]> {
    this.expire();
    return Promise.resolve(
      ranges.map((range) => {
        let count = 0;
        const distinct = new Set<string>();
        for (const bucket of this.inRange(family, range)) {
          count += bucket.counts.get(member) ?? 0;
          for (const id of bucket.ids.get(member) ?? []) distinct.add(id);
        }
        return { count, distinct: distinct.size };
      }),
    );
  }

  remove(family: CounterFamily, member: string, range: BucketRange): Promise<void> {
    for (const bucket of this.inRange(family, range)) {
      bucket.counts.delete(member);
      this.ids -= bucket.ids.get(member)?.size ?? 0;
      bucket.ids.delete(member);
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.families.clear();
    this.ids = 0;
    return Promise.resolve();
  }

  private bucketsOf(family: CounterFamily): Map<number, Bucket> {
    let buckets = this.families.get(family.name);
    if (buckets === undefined) this.families.set(family.name, (buckets = new Map<number, Bucket>()));
    return buckets;
  }

  private *inRange(family: CounterFamily, range: BucketRange): Iterable<Bucket> {
    const buckets = this.families.get(family.name);
    if (buckets === undefined) return;
    for (const number of bucketsOf(range)) {
      const bucket = buckets.get(number);
      if (bucket !== undefined) yield bucket;
    }
  }

  private expire(): void {
    const now = this.now();
    for (const buckets of this.families.values()) {
      for (const [number, bucket] of buckets) if (bucket.expiresAt <= now) this.drop(buckets, number, bucket);
    }
  }

  /** Drops the bucket that expires first, unless it is `keep`; false when there was nothing else to drop. */
  private dropOldestBucket(keep: Bucket): boolean {
    let oldest: { buckets: Map<number, Bucket>; number: number; bucket: Bucket } | undefined;
    for (const buckets of this.families.values()) {
      for (const [number, bucket] of buckets) {
        if (bucket !== keep && (oldest === undefined || bucket.expiresAt < oldest.bucket.expiresAt)) {
          oldest = { buckets, number, bucket };
        }
      }
    }
    if (oldest === undefined) return false;
    this.drop(oldest.buckets, oldest.number, oldest.bucket);
    return true;
  }

  private drop(buckets: Map<number, Bucket>, number: number, bucket: Bucket): void {
    for (const ids of bucket.ids.values()) this.ids -= ids.size;
    buckets.delete(number);
  }
}
