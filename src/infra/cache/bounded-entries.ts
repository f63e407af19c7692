interface Slot<V> {
  value: V;
  /** Physical expiry (epoch ms). */
  until: number;
  bytes: number;
}

export interface EntryBounds {
  /** Most entries kept; past it the least recently written goes. */
  maxEntries: number;
  /** Most bytes kept (as `bytesOf` counts them); past it the least recently written go. */
  maxBytes: number;
}

/** How often expired entries are swept out (reads also drop an expired entry they meet). */
const SWEEP_INTERVAL_MS = 10_000;

/**
 * The in-process tiers' storage (the memory store and the L1 tier): a map bounded by entry count
 * and by bytes, least recently written evicted first, expired entries swept on a timer so an
 * entry nobody reads again does not stay until it is evicted.
 *
 * Sizes are counted as JavaScript strings can take them: two bytes per character of the key and
 * the value (`bytesOf`), plus a fixed overhead. That is an upper bound of the heap the strings use.
 */
export class BoundedEntries<V> {
  private readonly slots = new Map<string, Slot<V>>();
  private totalBytes = 0;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly bounds: EntryBounds,
    private readonly bytesOf: (key: string, value: V) => number,
    /** Told of each entry that leaves by eviction or expiry (not by `delete`/`clear`). */
    private readonly onDrop: (key: string, value: V) => void = () => undefined,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The live value under `key` (an expired one is dropped). */
  get(key: string, now = Date.now()): V | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    if (slot.until <= now) {
      this.drop(key, slot);
      return undefined;
    }
    return slot.value;
  }

  /** Stores `value` until `until`, evicting the least recently written past the bounds. */
  set(key: string, value: V, until: number): void {
    this.delete(key);
    const bytes = this.bytesOf(key, value);
    // Re-inserting moves the key to the end, so eviction takes the least recently written.
    this.slots.set(key, { value, until, bytes });
    this.totalBytes += bytes;
    while (this.slots.size > this.bounds.maxEntries || this.totalBytes > this.bounds.maxBytes) {
      const oldest = this.slots.keys().next();
      if (oldest.done) break;
      this.drop(oldest.value, this.slots.get(oldest.value)!);
    }
    this.sweepLater();
  }

  delete(key: string): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this.slots.delete(key);
    this.totalBytes -= slot.bytes;
    return true;
  }

  clear(): void {
    this.slots.clear();
    this.totalBytes = 0;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** Drops every expired entry. */
  sweep(now = Date.now()): void {
    for (const [key, slot] of this.slots) if (slot.until <= now) this.drop(key, slot);
    if (this.slots.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private drop(key: string, slot: Slot<V>): void {
    this.delete(key);
    this.onDrop(key, slot.value);
  }

  private sweepLater(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }
}

/** Fixed cost counted per entry (the slot, the map's node), on top of its strings. */
const ENTRY_OVERHEAD_BYTES = 128;

/** Bytes of a key and a string value as the heap may hold them (two per character at most). */
export function stringBytes(key: string, value: string): number {
  return 2 * (key.length + value.length) + ENTRY_OVERHEAD_BYTES;
}
