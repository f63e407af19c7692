import type { CounterFamily, CounterIncrement } from './counters.store.js';

/** Bounds of what one flush may carry, so memory between flushes is bounded. */
export interface CounterBufferLimits {
  /** Distinct (family, bucket, member) entries; a view of one more member is dropped. */
  maxMembers: number;
  /** Distinct ids over all entries; past it a view still counts but its id is not kept. */
  maxIds: number;
}

/** What `record` did: counted fully, counted without its id (ids full), or dropped (members full). */
export type RecordOutcome = 'counted' | 'id-dropped' | 'dropped';

interface Pending {
  count: number;
  ids: Set<string>;
}

/** One family's increments of one flush. */
export interface FamilyBatch {
  family: CounterFamily;
  increments: CounterIncrement[];
}

/**
 * What was counted since the last flush, in process memory: per family, bucket and member, the
 * count and the set of ids. Recording is a few map operations (no I/O, no allocation for a member
 * and id already seen), so the request that counts pays nothing measurable.
 */
export class CounterBuffer {
  private pending = new Map<CounterFamily, Map<number, Map<string, Pending>>>();
  private members = 0;
  private ids = 0;

  constructor(private readonly limits: CounterBufferLimits) {}

  get size(): { members: number; ids: number } {
    return { members: this.members, ids: this.ids };
  }

  record(family: CounterFamily, member: string, id: string | undefined, now: number, count = 1): RecordOutcome {
    const bucket = Math.floor(now / family.bucketMs);
    let buckets = this.pending.get(family);
    if (buckets === undefined) this.pending.set(family, (buckets = new Map<number, Map<string, Pending>>()));
    let members = buckets.get(bucket);
    if (members === undefined) buckets.set(bucket, (members = new Map<string, Pending>()));
    let entry = members.get(member);
    if (entry === undefined) {
      if (this.members >= this.limits.maxMembers) return 'dropped';
      members.set(member, (entry = { count: 0, ids: new Set() }));
      this.members += 1;
    }
    entry.count += count;
    if (id === undefined || entry.ids.has(id)) return 'counted';
    if (this.ids >= this.limits.maxIds) return 'id-dropped';
    entry.ids.add(id);
    this.ids += 1;
    return 'counted';
  }

  /** Takes everything recorded so far and starts empty. */
  drain(): FamilyBatch[] {
    const drained = this.pending;
    this.pending = new Map();
    this.members = 0;
    this.ids = 0;
    const batches: FamilyBatch[] = [];
    for (const [family, buckets] of drained) {
      const increments: CounterIncrement[] = [];
      for (const [bucket, members] of buckets) {
        for (const [member, { count, ids }] of members) increments.push({ bucket, member, count, ids: [...ids] });
      }
      batches.push({ family, increments });
    }
    return batches;
  }

  /**
   * Puts a batch that could not be stored back (within the limits), to go with the next flush.
   * Returns how many views of it did not fit.
   */
  restore({ family, increments }: FamilyBatch): number {
    let lost = 0;
    for (const { bucket, member, count, ids } of increments) {
      const at = bucket * family.bucketMs;
      if (this.record(family, member, undefined, at, count) === 'dropped') {
        lost += count;
        continue;
      }
      for (const id of ids) this.record(family, member, id, at, 0);
    }
    return lost;
  }
}
