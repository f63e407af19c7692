import { type ConsumeResult, RateLimitStore, type TierLimit, type TierState } from './rate-limit.store.js';

/** Admission times of one bucket, oldest first; `head` skips the expired ones until compaction. */
interface Bucket {
  times: number[];
  head: number;
  /** When the newest admission leaves the window: after that the bucket holds nothing. */
  expiresAt: number;
}

export interface MemoryRateLimitStoreOptions {
  /** Milliseconds since the epoch; injectable so tests drive time instead of sleeping. */
  clock?: () => number;
  /** Buckets kept at most; beyond it the oldest-created bucket is dropped. */
  maxEntries?: number;
  /** How often a sweep pass over all buckets starts. */
  sweepIntervalMs?: number;
  /** Buckets examined per request while a sweep pass runs, so no request pays for a whole pass. */
  sweepBatch?: number;
}

/**
 * The in-process twin of the Redis store: the same sliding-window log per bucket, for one instance.
 * No timer per hit (unlike `@nestjs/throttler`'s default storage): expired buckets are removed by
 * an incremental sweep that each call advances by a few buckets, and `maxEntries` caps memory.
 *
 * ```ts
 * const store = new MemoryRateLimitStore({ maxEntries: 100_000 });
 * await store.consume('ip:203.0.113.7', [{ name: 'default', bucket: 'default', limit: 100, windowMs: 60_000 }]);
 * ```
 */
export class MemoryRateLimitStore extends RateLimitStore {
  private readonly buckets = new Map<string, Bucket>();
  private readonly clock: () => number;
  private readonly maxEntries: number;
  private readonly sweepIntervalMs: number;
  private readonly sweepBatch: number;
  private sweep: Iterator<[string, Bucket]> | undefined;
  private evictCursor: Iterator<string> | undefined;
  private nextSweepAt = 0;

  constructor(options: MemoryRateLimitStoreOptions = {}) {
    super();
    this.clock = options.clock ?? Date.now;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
    this.sweepBatch = options.sweepBatch ?? 100;
  }

  /** Buckets currently held, expired ones not yet swept included. */
  get size(): number {
    return this.buckets.size;
  }

  consume(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult> {
    return Promise.resolve(this.consumeNow(client, tiers));
  }

  peek(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult> {
    return Promise.resolve(this.consumeNow(client, tiers, false));
  }

  /** The synchronous decision (the store never waits for anything); `record: false` only looks. */
  consumeNow(client: string, tiers: readonly TierLimit[], record = true): ConsumeResult {
    const now = this.clock();
    this.sweepSome(now);

    const found = tiers.map((tier) => {
      const bucket = this.buckets.get(`${client}\n${tier.bucket}`);
      if (bucket) trim(bucket, now - tier.windowMs);
      return bucket;
    });

    let retryAfterMs = 0;
    let refusedBy: string | undefined;
    tiers.forEach((tier, i) => {
      const bucket = found[i];
      const count = bucket ? bucket.times.length - bucket.head : 0;
      if (!bucket || count < tier.limit) return;
      // The (count - limit + 1)-th oldest admission must leave the window before one more fits.
      const wait = bucket.times[bucket.head + count - tier.limit]! + tier.windowMs - now;
      if (wait > retryAfterMs) {
        retryAfterMs = wait;
        refusedBy = tier.name;
      }
    });
    const allowed = refusedBy === undefined;

    const states = tiers.map((tier, i): TierState => {
      let bucket = found[i];
      if (allowed && record) {
        bucket ??= this.create(`${client}\n${tier.bucket}`);
        bucket.times.push(now);
        bucket.expiresAt = Math.max(bucket.expiresAt, now + tier.windowMs);
      }
      const count = bucket ? bucket.times.length - bucket.head : 0;
      const oldest = bucket && count > 0 ? bucket.times[bucket.head]! : undefined;
      return {
        name: tier.name,
        limit: tier.limit,
        windowMs: tier.windowMs,
        remaining: Math.max(0, tier.limit - count),
        resetMs: oldest === undefined ? 0 : Math.max(0, oldest + tier.windowMs - now),
      };
    });
    return { allowed, retryAfterMs: allowed ? 0 : Math.max(1, retryAfterMs), refusedBy, tiers: states };
  }

  private create(key: string): Bucket {
    if (this.buckets.size >= this.maxEntries) {
      // Map iteration is insertion order: drop the oldest-created bucket to stay within bounds. The
      // cursor is kept between calls: a fresh keys().next() would step over every slot deleted
      // before it, which makes a flood of fresh keys quadratic.
      let oldest = this.evictCursor?.next();
      if (!oldest || oldest.done) {
        this.evictCursor = this.buckets.keys();
        oldest = this.evictCursor.next();
      }
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    const bucket: Bucket = { times: [], head: 0, expiresAt: 0 };
    this.buckets.set(key, bucket);
    return bucket;
  }

  /** Advances the current sweep pass by a few buckets, or starts one when it is due. */
  private sweepSome(now: number): void {
    if (!this.sweep) {
      if (now < this.nextSweepAt) return;
      this.sweep = this.buckets.entries();
      this.nextSweepAt = now + this.sweepIntervalMs;
    }
    for (let i = 0; i < this.sweepBatch; i++) {
      const next = this.sweep.next();
      if (next.done) {
        this.sweep = undefined;
        return;
      }
      // Deleting the current entry is safe while a Map iterator is live.
      if (next.value[1].expiresAt <= now) this.buckets.delete(next.value[0]);
    }
  }
}

/** Drops admissions at or before `cutoff`; compacts once the dead prefix is large. */
function trim(bucket: Bucket, cutoff: number): void {
  const { times } = bucket;
  while (bucket.head < times.length && times[bucket.head]! <= cutoff) bucket.head++;
  if (bucket.head > 16 && bucket.head * 2 >= times.length) {
    bucket.times = times.slice(bucket.head);
    bucket.head = 0;
  }
}
