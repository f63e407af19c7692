import { type CacheRecord, mayReplace } from './cache-record.js';
import type { CacheStore, StoreRead, StoreStatus, WriteOptions } from './cache.store.js';

interface Slot<T> {
  value: T;
  /** Physical expiry (epoch ms). */
  until: number;
}

/**
 * The in-process store: a bounded map (oldest entry evicted first) with the same version guard,
 * leases and generations as the Redis store. Every operation is synchronous inside, so the guard's
 * read-compare-write cannot interleave with another caller.
 */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Slot<CacheRecord>>();
  private readonly leases = new Map<string, Slot<string>>();
  private readonly tagGenerations = new Map<string, number>();

  constructor(private readonly maxEntries = 10_000) {}

  read(key: string, tags: readonly string[]): Promise<StoreRead> {
    return Promise.resolve({
      record: this.live(this.entries, key),
      generations: tags.length === 0 ? [] : tags.map((tag) => this.tagGenerations.get(tag)),
    });
  }

  generations(tags: readonly string[]): Promise<number[]> {
    return Promise.resolve(
      tags.map((tag) => {
        let generation = this.tagGenerations.get(tag);
        if (generation === undefined) {
          generation = Date.now();
          this.tagGenerations.set(tag, generation);
        }
        return generation;
      }),
    );
  }

  write(key: string, record: CacheRecord, ttlMs: number, options: WriteOptions = {}): Promise<boolean> {
    if (options.lease !== undefined) this.releaseNow(key, options.lease);
    if (!mayReplace(this.live(this.entries, key), record)) return Promise.resolve(false);
    // Re-inserting moves the key to the end, so eviction takes the least recently written.
    this.entries.delete(key);
    this.entries.set(key, { value: record, until: Date.now() + ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    return Promise.resolve(true);
  }

  delete(key: string): Promise<void> {
    this.entries.delete(key);
    return Promise.resolve();
  }

  bump(tags: readonly string[]): Promise<void> {
    for (const tag of tags) {
      // Never below the clock, so a generation lost with a restart cannot come back to an old value.
      this.tagGenerations.set(tag, Math.max((this.tagGenerations.get(tag) ?? 0) + 1, Date.now()));
    }
    return Promise.resolve();
  }

  acquire(key: string, token: string, ttlMs: number): Promise<boolean> {
    if (this.live(this.leases, key) !== undefined) return Promise.resolve(false);
    this.leases.set(key, { value: token, until: Date.now() + ttlMs });
    return Promise.resolve(true);
  }

  release(key: string, token: string): Promise<void> {
    this.releaseNow(key, token);
    return Promise.resolve();
  }

  status(): StoreStatus {
    return { kind: this.kind, breaker: 'none', commands: 0, failures: 0, shortCircuited: 0 };
  }

  close(): Promise<void> {
    this.entries.clear();
    this.leases.clear();
    return Promise.resolve();
  }

  private releaseNow(key: string, token: string): void {
    if (this.leases.get(key)?.value === token) this.leases.delete(key);
  }

  private live<T>(map: Map<string, Slot<T>>, key: string): T | undefined {
    const slot = map.get(key);
    if (slot === undefined) return undefined;
    if (slot.until <= Date.now()) {
      map.delete(key);
      return undefined;
    }
    return slot.value;
  }
}
