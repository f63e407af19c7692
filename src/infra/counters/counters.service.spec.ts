import { describe, expect, it } from 'vitest';
import { MetricsService } from '../metrics/metrics.service.js';
import { CounterBuffer } from './counter-buffer.js';
import type { CounterFamily, CounterIncrement, CountersStore } from './counters.store.js';
import { CountersService } from './counters.service.js';
import { MemoryCountersStore } from './memory-counters.store.js';

const HOUR = 3_600_000;
const family: CounterFamily = { name: 'views', bucketMs: HOUR, retainBuckets: 169 };
const NOW = 1_800_000_000_000;
const bucket = Math.floor(NOW / HOUR);
const all = { from: bucket - 168, to: bucket };

/** A memory store that can be told to fail its next `add`s, and counts them. */
class FlakyStore extends MemoryCountersStore {
  failures = 0;
  adds = 0;
  override add(f: CounterFamily, increments: readonly CounterIncrement[]): Promise<void> {
    this.adds += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      return Promise.reject(new Error('Redis is away'));
    }
    return super.add(f, increments);
  }
}

function service(store: CountersStore, limits = { maxMembers: 100, maxIds: 100 }) {
  const metrics = new MetricsService();
  const counters = new CountersService(store, { flushIntervalMs: 60_000, ...limits, now: () => NOW }, metrics);
  const dropped = async (reason: string) =>
    (await metrics.countersDropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { counters, dropped };
}

describe('CountersService', () => {
  it('records in memory only, and sends everything in one batch per flush', async () => {
    const store = new FlakyStore({ maxIds: 1000, now: () => NOW });
    const { counters } = service(store);
    for (let i = 0; i < 50; i += 1) counters.record(family, `p${i % 5}`, `viewer-${i % 7}`);
    expect(store.adds).toBe(0);
    expect(await store.totals(family, 'p0', [all])).toEqual([{ count: 0, distinct: 0 }]);
    await counters.flush();
    expect(store.adds).toBe(1);
    expect(await store.totals(family, 'p0', [all])).toEqual([{ count: 10, distinct: 7 }]);
    await counters.flush();
    expect(store.adds).toBe(1);
  });

  it('keeps a batch whose flush failed and stores it, once, with the next flush', async () => {
    const store = new FlakyStore({ maxIds: 1000, now: () => NOW });
    const { counters } = service(store);
    counters.record(family, 'p', 'a');
    counters.record(family, 'p', 'b');
    store.failures = 1;
    await counters.flush();
    counters.record(family, 'p', 'a');
    await counters.flush();
    expect(await store.totals(family, 'p', [all])).toEqual([{ count: 3, distinct: 2 }]);
  });

  it('flushes what is left on shutdown', async () => {
    const store = new FlakyStore({ maxIds: 1000, now: () => NOW });
    const { counters } = service(store);
    counters.record(family, 'p', 'a');
    const close = store.close.bind(store);
    let seenAtClose: unknown;
    store.close = async () => {
      seenAtClose = await store.totals(family, 'p', [all]);
      await close();
    };
    await counters.onApplicationShutdown();
    expect(seenAtClose).toEqual([{ count: 1, distinct: 1 }]);
  });

  it('drops views of members past the buffer bound, and counts them in counters_dropped_total', async () => {
    const store = new MemoryCountersStore({ maxIds: 1000, now: () => NOW });
    const { counters, dropped } = service(store, { maxMembers: 3, maxIds: 1000 });
    for (let i = 0; i < 10; i += 1) counters.record(family, `p${i}`, 'a');
    counters.record(family, 'p0', 'a');
    expect(await dropped('members')).toBe(7);
    await counters.flush();
    expect(await store.top(family, all, 100)).toEqual([
      { member: 'p0', count: 2 },
      { member: 'p2', count: 1 },
      { member: 'p1', count: 1 },
    ]);
    // The bound is per flush: after one, new members fit again.
    counters.record(family, 'p9', 'a');
    await counters.flush();
    expect(await store.totals(family, 'p9', [all])).toEqual([{ count: 1, distinct: 1 }]);
  });

  it('past the id bound still counts views, without their viewers, and counts them', async () => {
    const store = new MemoryCountersStore({ maxIds: 1000, now: () => NOW });
    const { counters, dropped } = service(store, { maxMembers: 100, maxIds: 5 });
    for (let i = 0; i < 20; i += 1) counters.record(family, 'p', `viewer-${i}`);
    expect(await dropped('ids')).toBe(15);
    await counters.flush();
    expect(await store.totals(family, 'p', [all])).toEqual([{ count: 20, distinct: 5 }]);
  });
});

describe('CounterBuffer', () => {
  it('never holds more than its bounds, however many members and ids arrive', () => {
    const buffer = new CounterBuffer({ maxMembers: 1000, maxIds: 2000 });
    for (let i = 0; i < 100_000; i += 1) buffer.record(family, `p${i % 5000}`, `v${i}`, NOW + i * 1000);
    expect(buffer.size.members).toBeLessThanOrEqual(1000);
    expect(buffer.size.ids).toBeLessThanOrEqual(2000);
    const drained = buffer.drain();
    expect(drained.flatMap((b) => b.increments).length).toBeLessThanOrEqual(1000);
    expect(buffer.size).toEqual({ members: 0, ids: 0 });
  });
});

describe('MemoryCountersStore', () => {
  it('keeps at most maxIds ids: the oldest buckets go first', async () => {
    const store = new MemoryCountersStore({ maxIds: 100, now: () => NOW });
    const ids = (tag: string) => Array.from({ length: 60 }, (_, i) => `${tag}${i}`);
    await store.add(family, [{ bucket: bucket - 2, member: 'p', count: 60, ids: ids('old') }]);
    await store.add(family, [{ bucket, member: 'p', count: 60, ids: ids('new') }]);
    expect(await store.totals(family, 'p', [{ from: bucket - 2, to: bucket - 2 }])).toEqual([
      { count: 0, distinct: 0 },
    ]);
    expect(await store.totals(family, 'p', [{ from: bucket, to: bucket }])).toEqual([{ count: 60, distinct: 60 }]);
    // The current bucket alone past the bound: views still count, ids stop being kept.
    await store.add(family, [{ bucket, member: 'p', count: 60, ids: ids('more') }]);
    expect(await store.totals(family, 'p', [all])).toEqual([{ count: 120, distinct: 100 }]);
  });
});
