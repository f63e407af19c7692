import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { RedisClientType } from '@redis/client';
import { settlesWithin } from '../../common/index.js';
import { BoundedEntries, stringBytes } from './bounded-entries.js';
import type { CacheRecord } from './cache-record.js';
import type { CacheStore, StoreRead, StoreStatus, WriteMode, WriteOptions } from './cache.store.js';
import { DEFAULT_IN_PROCESS_BOUNDS, type InProcessBounds } from './memory.store.js';
import type { RedisCacheStore } from './redis.store.js';

interface L1Slot {
  read: StoreRead;
  tags: readonly string[];
}

const CHANNEL = 'cache-invalidate';

/**
 * An in-process tier (L1) in front of the Redis store. Reads served from L1 cost no round trip.
 * Every change made through any instance (write, delete, tag bump) is published on Redis pub/sub
 * and drops the entry from every other instance's L1.
 *
 * The bound this introduces: another instance may serve the previous value until the invalidation
 * reaches it (pub/sub delivery, normally well under a millisecond on a LAN), and never longer than
 * `l1TtlMs`. While the subscription is down L1 is bypassed, and it is emptied when it comes back,
 * so a lost message cannot extend that bound.
 */
export class TieredCacheStore implements CacheStore {
  readonly kind = 'tiered' as const;
  private readonly logger = new Logger('Cache');
  private readonly origin = randomUUID();
  private readonly l1: BoundedEntries<L1Slot>;
  private readonly byTag = new Map<string, Set<string>>();
  private readonly subscriber: RedisClientType;
  /** Bumped by every invalidation: a Redis read that raced one must not refill L1 with what it read. */
  private epoch = 0;
  private subscribed = false;

  constructor(
    private readonly l2: RedisCacheStore,
    private readonly l1TtlMs: number,
    private readonly bounds: InProcessBounds = DEFAULT_IN_PROCESS_BOUNDS,
  ) {
    // An entry evicted or expired also leaves the tag index, which would otherwise keep its key.
    this.l1 = new BoundedEntries<L1Slot>(
      bounds,
      (key, slot) => stringBytes(key, slot.read.record?.body ?? ''),
      (key, slot) => this.untag(key, slot),
    );
    this.subscriber = l2.client.duplicate();
    this.subscriber.on('error', () => {
      // The main client logs outages; while this one is down L1 is bypassed.
    });
    this.subscriber.on('ready', () => this.clearL1());
  }

  /** Subscribes to the invalidation channel, waiting at most `waitMs` (L1 stays bypassed until then). */
  async connect(waitMs: number): Promise<void> {
    const subscribed = this.subscriber
      .connect()
      .then(() => this.subscriber.subscribe(this.l2.channelName(CHANNEL), (message) => this.onMessage(message)))
      .then(() => {
        this.subscribed = true;
        this.clearL1();
      })
      .catch((error: unknown) => this.logger.warn(`Cache invalidation channel unavailable: ${String(error)}`));
    await settlesWithin(subscribed, waitMs);
  }

  async read(key: string, tags: readonly string[]): Promise<StoreRead> {
    const live = this.subscribed && this.subscriber.isReady;
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
    if (this.subscriber.isReady) await this.subscriber.close().catch(() => this.subscriber.destroy());
    else if (this.subscriber.isOpen) this.subscriber.destroy();
    await this.l2.close();
  }

  /** A write-through's invalidation goes out the way its write did (`commit`: past an open breaker). */
  private async broadcast(change: string, mode?: WriteMode): Promise<void> {
    await this.l2.publish(CHANNEL, `${this.origin}|${change}`, mode);
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
