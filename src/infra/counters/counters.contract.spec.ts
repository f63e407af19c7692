import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL } from '../../../test/support/services.js';
import {
  bucketExpiresAt,
  type CounterFamily,
  type CounterIncrement,
  type CountersStore,
  EXPIRY_GRACE_MS,
} from './counters.store.js';
import { MemoryCountersStore } from './memory-counters.store.js';
import { RedisCountersStore } from './redis-counters.store.js';

/** ONE contract for the counters stores, run against each (memory and Redis). */
interface Variant {
  name: string;
  /** A fresh store under its own key prefix; `now` is the memory store's clock. */
  create(prefix: string, now: () => number): Promise<CountersStore>;
}

const variants: Variant[] = [
  { name: 'memory', create: (_prefix, now) => Promise.resolve(new MemoryCountersStore({ maxIds: 1_000_000, now })) },
  {
    name: 'redis',
    create: async (prefix) => {
      // No reuse of unions here: every read must see the last write exactly.
      const store = new RedisCountersStore({ url: TEST_REDIS_URL, keyPrefix: prefix, topReuseMs: 0 });
      expect(await store.connect(5000)).toBe(true);
      return store;
    },
  },
];

const HOUR = 3_600_000;
const family: CounterFamily = { name: 'views', bucketMs: HOUR, retainBuckets: 169 };
const other: CounterFamily = { name: 'other-views', bucketMs: HOUR, retainBuckets: 169 };
const redis = createClient({ url: TEST_REDIS_URL });
const prefixes: string[] = [];

afterAll(async () => {
  if (prefixes.length === 0) return;
  if (!redis.isOpen) await redis.connect();
  for (const prefix of prefixes) {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 }))
      if (keys.length > 0) await redis.del(keys);
  }
  await redis.close();
});

const ids = (from: number, to: number, tag = 'client'): string[] =>
  Array.from({ length: to - from }, (_, i) => `${tag}-${from + i}`);
const inc = (bucket: number, member: string, count: number, seen: string[] = []): CounterIncrement => ({
  bucket,
  member,
  count,
  ids: seen,
});

describe.each(variants)('CountersStore contract on the $name store', (variant) => {
  let store: CountersStore;
  let clock: number;
  let now: number;
  let prefix: string;

  beforeEach(async (context) => {
    prefix = `t-counters-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    clock = Date.now();
    now = Math.floor(clock / HOUR);
    store = await variant.create(prefix, () => clock);
    context.onTestFinished(() => store.close());
  });

  it('counts exactly over any range of buckets, and keeps families apart', async () => {
    await store.add(family, [inc(now - 30, 'a', 7), inc(now - 2, 'a', 3), inc(now - 1, 'b', 4), inc(now, 'a', 1)]);
    await store.add(family, [inc(now, 'a', 2), inc(now, 'b', 1), inc(now - 200, 'c', 50)]);
    await store.add(other, [inc(now, 'a', 100)]);

    expect(await store.top(family, { from: now, to: now }, 10)).toEqual([
      { member: 'a', count: 3 },
      { member: 'b', count: 1 },
    ]);
    expect(await store.top(family, { from: now - 1, to: now }, 10)).toEqual([
      { member: 'b', count: 5 },
      { member: 'a', count: 3 },
    ]);
    expect(await store.top(family, { from: now - 24, to: now }, 10)).toEqual([
      { member: 'a', count: 6 },
      { member: 'b', count: 5 },
    ]);
    expect(await store.top(family, { from: now - 168, to: now }, 1)).toEqual([{ member: 'a', count: 13 }]);
    const ranges = [
      { from: now - 1, to: now },
      { from: now - 24, to: now },
      { from: now - 168, to: now },
    ];
    expect((await store.totals(family, 'a', ranges)).map((t) => t.count)).toEqual([3, 6, 13]);
    expect((await store.totals(family, 'b', ranges)).map((t) => t.count)).toEqual([5, 5, 5]);
    expect((await store.totals(family, 'nobody', ranges)).map((t) => t.count)).toEqual([0, 0, 0]);
    expect((await store.totals(other, 'a', ranges)).map((t) => t.count)).toEqual([100, 100, 100]);
  });

  it('orders equal counts by member, highest first (callers break ties themselves)', async () => {
    await store.add(family, [inc(now, 'm1', 2), inc(now, 'm3', 2), inc(now, 'm2', 2), inc(now, 'top', 9)]);
    expect((await store.top(family, { from: now, to: now }, 3)).map((m) => m.member)).toEqual(['top', 'm3', 'm2']);
  });

  it('estimates 10 000 distinct ids over several buckets within 2 %, ignoring repeats', async () => {
    // 6 000 in the current hour, 6 000 an hour ago, 2 000 of them in both: 10 000 distinct in all.
    const current = ids(0, 6000);
    const previous = ids(4000, 10_000);
    for (let i = 0; i < 6000; i += 1000) {
      await store.add(family, [
        inc(now, 'p', 1000, current.slice(i, i + 1000)),
        inc(now - 1, 'p', 1000, previous.slice(i, i + 1000)),
      ]);
    }
    // Repeats in a later flush add views, not viewers.
    await store.add(family, [inc(now, 'p', 500, current.slice(0, 500))]);
    const [hour, day] = await store.totals(family, 'p', [
      { from: now, to: now },
      { from: now - 24, to: now },
    ]);
    expect(hour!.count).toBe(6500);
    expect(day!.count).toBe(12_500);
    expect(Math.abs(hour!.distinct - 6000) / 6000).toBeLessThan(0.02);
    expect(Math.abs(day!.distinct - 10_000) / 10_000).toBeLessThan(0.02);
  });

  it('forgets a removed member in every bucket of the range, and only that member', async () => {
    await store.add(family, [inc(now - 100, 'gone', 5, ['x']), inc(now, 'gone', 9, ['y']), inc(now, 'kept', 1, ['z'])]);
    await store.remove(family, 'gone', { from: now - 168, to: now });
    expect(await store.top(family, { from: now - 168, to: now }, 10)).toEqual([{ member: 'kept', count: 1 }]);
    expect(await store.totals(family, 'gone', [{ from: now - 168, to: now }])).toEqual([{ count: 0, distinct: 0 }]);
    expect(await store.totals(family, 'kept', [{ from: now - 168, to: now }])).toEqual([{ count: 1, distinct: 1 }]);
  });

  it('takes a flush larger than one call: 10 000 members and one member with 12 000 ids', async () => {
    const members = Array.from({ length: 10_000 }, (_, i) => inc(now, `m${i}`, (i % 7) + 1, [`v${i % 3}`]));
    await store.add(family, [...members, inc(now, 'crowded', 1, ids(0, 12_000))]);
    const top = await store.top(family, { from: now, to: now }, 10_001);
    expect(top).toHaveLength(10_001);
    const counted = new Map(top.map(({ member, count }) => [member, count]));
    for (const { member, count } of members) expect(counted.get(member)).toBe(count);
    const [sample] = await store.totals(family, 'm9999', [{ from: now, to: now }]);
    expect(sample).toEqual({ count: (9999 % 7) + 1, distinct: 1 });
    const [crowded] = await store.totals(family, 'crowded', [{ from: now, to: now }]);
    expect(Math.abs(crowded!.distinct - 12_000) / 12_000).toBeLessThan(0.02);
  });

  it('answers empty ranges with nothing', async () => {
    expect(await store.top(family, { from: now - 168, to: now }, 10)).toEqual([]);
    expect(await store.totals(family, 'p', [{ from: now, to: now }])).toEqual([{ count: 0, distinct: 0 }]);
    await store.add(family, []);
  });

  it('lets a bucket go once no window reaches it any more', async () => {
    await store.add(family, [inc(now, 'p', 4, ['v'])]);
    const expiresAt = bucketExpiresAt(family, now);
    // Just past the longest window: the bucket stays readable for as long as a window can reach it.
    expect(expiresAt).toBe((now + 169) * HOUR + EXPIRY_GRACE_MS);
    if (store instanceof RedisCountersStore) {
      if (!redis.isOpen) await redis.connect();
      // Every key the flush wrote (the bucket's counts and the member's HyperLogLog), whatever its layout.
      const keys: string[] = [];
      for await (const batch of redis.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) keys.push(...batch);
      expect(keys).toHaveLength(2);
      for (const key of keys) expect(await redis.sendCommand(['PEXPIRETIME', key])).toBe(expiresAt);
    } else {
      clock = expiresAt - 1;
      expect(await store.totals(family, 'p', [{ from: now, to: now }])).toEqual([{ count: 4, distinct: 1 }]);
      clock = expiresAt;
      expect(await store.totals(family, 'p', [{ from: now, to: now }])).toEqual([{ count: 0, distinct: 0 }]);
    }
  });
});

describe('RedisCountersStore', () => {
  it('reuses the union of a range for topReuseMs, across instances, then computes it again', async () => {
    const prefix = `t-counters-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const [a, b] = [0, 1].map(
      () => new RedisCountersStore({ url: TEST_REDIS_URL, keyPrefix: prefix, topReuseMs: 60_000 }),
    );
    await Promise.all([a!.connect(5000), b!.connect(5000)]);
    try {
      const now = Math.floor(Date.now() / HOUR);
      const range = { from: now - 24, to: now };
      await a!.add(family, [inc(now, 'p', 1)]);
      expect(await a!.top(family, range, 10)).toEqual([{ member: 'p', count: 1 }]);
      await b!.add(family, [inc(now, 'p', 1)]);
      // Within the reuse interval both instances read the union computed first.
      expect(await b!.top(family, range, 10)).toEqual([{ member: 'p', count: 1 }]);
      if (!redis.isOpen) await redis.connect();
      await redis.del(`${prefix}:counters:{${family.name}}:top:${range.from}-${range.to}`);
      expect(await b!.top(family, range, 10)).toEqual([{ member: 'p', count: 2 }]);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });
});
