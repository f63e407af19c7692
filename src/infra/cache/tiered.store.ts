import { randomUUID } from 'node:crypto';
import { BoundedEntries, stringBytes } from './bounded-entries.js';
import type { CacheRecord } from './cache-record.js';
import type { CacheStore, StoreRead, StoreStatus, WriteMode, WriteOptions } from './cache.store.js';
import { DEFAULT_IN_PROCESS_BOUNDS, type InProcessBounds } from './memory.store.js';
import type { InvalidationChannel } from './invalidation-channel.js';

interface L1Slot {
  read: StoreRead;
  tags: readonly string[];
}

/**
 * An in-process tier (L1) in front of a shared store (L2: Redis). Reads served from L1 cost no
 * round trip. Every change made through any instance (write, delete, tag bump) is published on
 * the invalidation channel and drops the entry from every other instance's L1.
 *
 * The bound this introduces: another instance may serve the previous value until the invalidation
 * reaches it (on Redis pub/sub, one message delivery), and never longer than `l1TtlMs`. While the
 * channel is not live L1 is bypassed, and it is emptied when delivery restarts, so a lost message
 * cannot extend that bound.
 */
export class TieredCacheStore implements CacheStore {
  readonly kind = 'tiered' as const;
  private readonly origin = randomUUID();
  private readonly l1: BoundedEntries<L1Slot>;
  private readonly byTag = new Map<string, Set<string>>();
  /** Bumped by every invalidation: an L2 read that raced one must not refill L1 with what it read. */
  private epoch = 0;

  constructor(
    private readonly l2: CacheStore,
    private readonly channel: InvalidationChannel,
    private readonly l1TtlMs: number,
    private readonly bounds: InProcessBounds = DEFAULT_IN_PROCESS_BOUNDS,
  ) {
    // An entry evicted or expired also leaves the tag index, which would otherwise keep its key.
    this.l1 = new BoundedEntries<L1Slot>(
      bounds,
      (key, slot) => stringBytes(key, slot.read.record?.body ?? ''),
      (key, slot) => this.untag(key, slot),
    );
  }

  /** Subscribes to the invalidation channel, waiting at most `waitMs` (L1 stays bypassed until then). */
  async connect(waitMs: number): Promise<void> {
    await this.channel.subscribe(
      { message: (message) => this.onMessage(message), resync: () => this.clearL1() },
      waitMs,
    );
  }

  async read(key: string, tags: readonly string[]): Promise<StoreRead> {
    const live = this.channel.live;
    if (live) {
      const slot = this.l1.get(key);
      if (slot !== undefined) return slot.read;
    }
    const epoch = this.epoch;
    const read = await this.l2.read(key, tags);
    if (live && epoch === this.epoch && read.record !== undefined && read.generations.every((g) => g !== undefined)) {
      this.remember(key, tags, read, read.record);
    }
    return read;
  }

  generations(tags: readonly string[]): Promise<number[]> {
    return this.l2.generations(tags);
  }

  async write(key: string, record: CacheRecord, ttlMs: number, options: WriteOptions = {}): Promise<boolean> {
    this.invalidateLocally(key);
    const stored = await this.l2.write(key, record, ttlMs, options);
    if (stored) await this.broadcast(`k|${key}`, options.mode);
    return stored;
  }

  async delete(key: string, mode?: WriteMode): Promise<void> {
    this.invalidateLocally(key);
    await this.l2.delete(key, mode);
    await this.broadcast(`k|${key}`, mode);
  }

  async bump(tags: readonly string[], mode?: WriteMode): Promise<void> {
    for (const tag of tags) this.invalidateTagLocally(tag);
    await this.l2.bump(tags, mode);
    for (const tag of tags) await this.broadcast(`t|${tag}`, mode);
  }

  acquire(key: string, token: string, ttlMs: number): Promise<boolean> {
    return this.l2.acquire(key, token, ttlMs);
  }

  renew(key: string, token: string, ttlMs: number): Promise<boolean> {
    return this.l2.renew(key, token, ttlMs);
  }

  release(key: string, token: string): Promise<void> {
    return this.l2.release(key, token);
  }

  status(): StoreStatus {
    return { ...this.l2.status(), kind: this.kind };
  }

  async close(): Promise<void> {
    this.clearL1();
    await this.channel.close();
    await this.l2.close();
  }

  /** A write-through's invalidation goes out the way its write did (`commit`: past an open breaker). */
  private async broadcast(change: string, mode?: WriteMode): Promise<void> {
    await this.channel.publish(`${this.origin}|${change}`, mode);
  }

  private onMessage(message: string): void {
    const [origin, kind, ...rest] = message.split('|');
    if (origin === this.origin) return;
    const name = rest.join('|');
    if (kind === 'k') this.invalidateLocally(name);
    else if (kind === 't') this.invalidateTagLocally(name);
  }

  private remember(key: string, tags: readonly string[], read: StoreRead, record: CacheRecord): void {
    const until = Math.min(Date.now() + this.l1TtlMs, record.expiresAt);
    // An expired record kept for stale-if-error is not worth holding in L1.
    if (until <= Date.now() || stringBytes(key, record.body) > this.bounds.maxEntryBytes) return;
    this.drop(key);
    this.l1.set(key, { read, tags }, until);
    for (const tag of tags) {
      let keys = this.byTag.get(tag);
      if (keys === undefined) this.byTag.set(tag, (keys = new Set()));
      keys.add(key);
    }
  }

  private invalidateLocally(key: string): void {
    this.epoch += 1;
    this.drop(key);
  }

  private invalidateTagLocally(tag: string): void {
    this.epoch += 1;
    for (const key of this.byTag.get(tag) ?? []) this.drop(key);
    this.byTag.delete(tag);
  }

  private drop(key: string): void {
    const slot = this.l1.get(key);
    if (slot === undefined) return;
    this.l1.delete(key);
    this.untag(key, slot);
  }

  private untag(key: string, slot: L1Slot): void {
    for (const tag of slot.tags) {
      const keys = this.byTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.byTag.delete(tag);
    }
  }

  /** Entries and bytes held in L1 now (tests and the memory bound's checks). */
  usage(): { entries: number; bytes: number } {
    return { entries: this.l1.size, bytes: this.l1.bytes };
  }

  private clearL1(): void {
    this.epoch += 1;
    this.l1.clear();
    this.byTag.clear();
  }
}
