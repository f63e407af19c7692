import { CACHE_DEFAULTS } from '../../config/index.js';
import { BoundedEntries, stringBytes } from './bounded-entries.js';
import { type CacheRecord, mayReplace } from './cache-record.js';
import type { CacheStore, StoreRead, StoreStatus, WriteOptions } from './cache.store.js';

interface Slot<T> {
  value: T;
  /** Physical expiry (epoch ms). */
  until: number;
}

/** Bounds of an in-process tier: entries, bytes, and the largest value it keeps. */
export interface InProcessBounds {
  maxEntries: number;
  maxBytes: number;
  /** A value larger than this (counted as `stringBytes`) is not kept in this tier. */
  maxEntryBytes: number;
}

export const DEFAULT_IN_PROCESS_BOUNDS: InProcessBounds = CACHE_DEFAULTS.bounds;

/**
 * The in-process store: a map bounded by entries and bytes (least recently written evicted
 * first, expired entries swept), with the same version guard, lease rules and generations as the
 * Redis store. A value above `maxEntryBytes` is not stored (and removes the version it would
 * have replaced, so the guard never keeps an older one). Every operation is synchronous inside, so the guard's
 * read-compare-write cannot interleave with another caller.
 */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory' as const;
  private readonly entries: BoundedEntries<CacheRecord>;
  private readonly leases = new Map<string, Slot<string>>();
  private readonly tagGenerations = new Map<string, number>();

  constructor(private readonly bounds: InProcessBounds = DEFAULT_IN_PROCESS_BOUNDS) {
    this.entries = new BoundedEntries(bounds, (key, record) => stringBytes(key, record.body));
  }

  /** Entries and bytes held now (tests and the memory bound's checks). */
  usage(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.entries.bytes };
  }

  read(key: string, tags: readonly string[]): Promise<StoreRead> {
    return Promise.resolve({
      record: this.entries.get(key),
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
    if (options.lease !== undefined) {
      // Loaded under a lease that is gone: a write-through came since, so this value may be older.
      if (this.live(this.leases, key) !== options.lease) return Promise.resolve(false);
      this.leases.delete(key);
    } else if (options.mode === 'commit') {
      this.leases.delete(key);
    }
    if (!mayReplace(this.entries.get(key), record)) return Promise.resolve(false);
    if (stringBytes(key, record.body) > this.bounds.maxEntryBytes) {
      // Too large to keep here: the next read loads it; the version it replaces must not stay.
      this.entries.delete(key);
      return Promise.resolve(false);
    }
    this.entries.set(key, record, Date.now() + ttlMs);
    return Promise.resolve(true);
  }

  delete(key: string): Promise<void> {
    this.entries.delete(key);
    this.leases.delete(key);
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

  renew(key: string, token: string, ttlMs: number): Promise<boolean> {
    const lease = this.leases.get(key);
    if (lease === undefined || lease.value !== token || lease.until <= Date.now()) return Promise.resolve(false);
    lease.until = Date.now() + ttlMs;
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
