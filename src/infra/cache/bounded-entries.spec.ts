import { describe, expect, it } from 'vitest';
import { BoundedEntries, stringBytes } from './bounded-entries.js';
import type { CacheRecord } from './cache-record.js';
import { MemoryCacheStore } from './memory.store.js';

const PAGE_CHARS = 245_000;
const page = (i: number): string => `${'x'.repeat(PAGE_CHARS - 8)}${String(i).padStart(8, '0')}`;
const record = (body: string): CacheRecord => ({
  version: 1,
  status: 200,
  body,
  expiresAt: Date.now() + 60_000,
  computeMs: 1,
});

describe('BoundedEntries', () => {
  it('keeps entries and bytes under their bounds, evicting the least recently written', () => {
    const entries = new BoundedEntries<string>({ maxEntries: 1000, maxBytes: 10_000 }, stringBytes);
    for (let i = 0; i < 5000; i++) entries.set(`k${i}`, 'v'.repeat(500), Date.now() + 60_000);
    expect(entries.bytes).toBeLessThanOrEqual(10_000);
    expect(entries.size).toBe(Math.floor(10_000 / stringBytes('k4999', 'v'.repeat(500))));
    expect(entries.get('k4999')).toBeDefined();
    expect(entries.get('k0')).toBeUndefined();
  });

  it('sweeps expired entries nobody reads again, and tells who dropped them', () => {
    const dropped: string[] = [];
    const entries = new BoundedEntries<string>({ maxEntries: 100, maxBytes: 1e9 }, stringBytes, (key) =>
      dropped.push(key),
    );
    const now = Date.now();
    for (let i = 0; i < 10; i++) entries.set(`k${i}`, 'v', now + (i < 5 ? 10 : 60_000));
    entries.sweep(now + 100);
    expect(entries.size).toBe(5);
    expect(entries.bytes).toBe(5 * stringBytes('k0', 'v'));
    expect(dropped.sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    entries.clear();
  });
});

describe('MemoryCacheStore bounds', () => {
  it('5 000 distinct 245 KB pages stay within CACHE_MEMORY_MAX_BYTES', async () => {
    const maxBytes = 64 * 1024 * 1024;
    const store = new MemoryCacheStore({ maxEntries: 10_000, maxBytes, maxEntryBytes: 512 * 1024 });
    for (let i = 0; i < 5000; i++) await store.write(`products:list:${i}`, record(page(i)), 60_000);
    const usage = store.usage();
    expect(usage.bytes).toBeLessThanOrEqual(maxBytes);
    expect(usage.entries).toBeLessThanOrEqual(Math.floor(maxBytes / (2 * PAGE_CHARS)));
    expect(usage.entries).toBeGreaterThan(100);
    await store.close();
  });

  it('does not keep a value above maxEntryBytes, nor the older version it replaces', async () => {
    const store = new MemoryCacheStore({ maxEntries: 100, maxBytes: 1024 * 1024, maxEntryBytes: 1024 });
    expect(await store.write('k', record('small'), 60_000)).toBe(true);
    expect(await store.write('k', { ...record('y'.repeat(2000)), version: 2 }, 60_000)).toBe(false);
    expect((await store.read('k', [])).record).toBeUndefined();
    expect(store.usage()).toEqual({ entries: 0, bytes: 0 });
    await store.close();
  });
});
