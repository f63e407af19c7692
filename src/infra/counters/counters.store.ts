/**
 * A family of time-bucketed counters: one score per member per bucket (how many times it was
 * seen) and one distinct-id estimate per member per bucket (who saw it). `product-views` is one.
 * The feature that counts declares it once and passes the same object to every call.
 */
export interface CounterFamily {
  /** Key segment and Redis Cluster hash tag: `[a-z0-9-]`, e.g. `product-views`. */
  readonly name: string;
  /** Length of one bucket, ms (an hour). */
  readonly bucketMs: number;
  /**
   * How many buckets a read may span, the current one included (the longest window + 1). A bucket
   * expires once no window can reach it any more.
   */
  readonly retainBuckets: number;
}

/** Buckets `from`..`to`, both included (bucket numbers: epoch ms / `bucketMs`, rounded down). */
export interface BucketRange {
  from: number;
  to: number;
}

/** What one flush adds for one member in one bucket. */
export interface CounterIncrement {
  bucket: number;
  member: string;
  /** Views to add (> 0). */
  count: number;
  /** Ids seen in this bucket (may repeat ids of earlier flushes: a distinct count ignores repeats). */
  ids: readonly string[];
}

/** A member and its count over a range of buckets. */
export interface MemberCount {
  member: string;
  count: number;
}

/** One member's totals over one range: the exact count and the estimated number of distinct ids. */
export interface MemberTotals {
  count: number;
  distinct: number;
}

export type CountersStoreKind = 'memory' | 'redis';

/**
 * The one seam between the counters service and a backend. Both stores pass the same contract
 * suite (`counters.contract.spec.ts`). Errors are thrown; the service decides what a failure means.
 */
export interface CountersStore {
  readonly kind: CountersStoreKind;
  /** Adds one flush's increments (Redis: one pipelined round trip) and sets each bucket's expiry. */
  add(family: CounterFamily, increments: readonly CounterIncrement[]): Promise<void>;
  /** The `limit` members with the highest counts over `range`, highest first. */
  top(family: CounterFamily, range: BucketRange, limit: number): Promise<MemberCount[]>;
  /** One member's totals over each range, in the order given (Redis: one round trip). */
  totals(family: CounterFamily, member: string, ranges: readonly BucketRange[]): Promise<MemberTotals[]>;
  /** Removes the member (counts and ids) from every bucket of `range`. */
  remove(family: CounterFamily, member: string, range: BucketRange): Promise<void>;
  close(): Promise<void>;
}

/** Injection token of the active store. */
export const CountersStore = Symbol('CountersStore');

/** When a bucket's data may go: once no window reaches it, plus a minute for clocks that disagree. */
export function bucketExpiresAt(family: CounterFamily, bucket: number): number {
  return (bucket + family.retainBuckets) * family.bucketMs + EXPIRY_GRACE_MS;
}

export const EXPIRY_GRACE_MS = 60_000;

/** Every bucket number of a range, oldest first. */
export function bucketsOf(range: BucketRange): number[] {
  const buckets: number[] = [];
  for (let bucket = range.from; bucket <= range.to; bucket += 1) buckets.push(bucket);
  return buckets;
}
