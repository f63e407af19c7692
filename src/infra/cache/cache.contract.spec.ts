import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL } from '../../../test/support/services.js';
import { ProblemException } from '../http/problem.js';
import type { CacheBehaviour } from './cache.options.js';
import { CacheService } from './cache.service.js';
import type { Loaded } from './cache.types.js';
import type { CacheStore, WriteOptions } from './cache.store.js';
import type { CacheRecord } from './cache-record.js';
import { DEFAULT_IN_PROCESS_BOUNDS, MemoryCacheStore } from './memory.store.js';
import { RedisCacheStore } from './redis.store.js';
import { TieredCacheStore } from './tiered.store.js';
import { RedisInvalidationChannel } from './redis-invalidation.channel.js';

/**
 * ONE contract for CacheService, run against every store. Each variant gives two services that
 * share a backend, standing for two instances of the app.
 */
interface Variant {
  name: string;
  /** Two stores over one backend (two "instances"). */
  pair(prefix: string): Promise<[CacheStore, CacheStore]>;
  /** Cross-instance invalidation is immediate (false: the L1 tier's pub/sub delay applies). */
  immediate: boolean;
}

const redisStore = (prefix: string) => {
  const store = new RedisCacheStore({
    url: TEST_REDIS_URL,
    keyPrefix: prefix,
    commandTimeoutMs: 1000,
    breakerHalfOpenMs: 1000,
  });
  store.connect();
  return store;
};

const variants: Variant[] = [
  {
    name: 'memory',
    immediate: true,
    pair: () => {
      const shared = new MemoryCacheStore({ ...DEFAULT_IN_PROCESS_BOUNDS, maxEntries: 1000 });
      return Promise.resolve([shared, shared]);
    },
  },
  {
    name: 'redis',
    immediate: true,
    pair: async (prefix) => {
      const stores = [redisStore(prefix), redisStore(prefix)] as const;
      await Promise.all(stores.map((s) => s.ready(5000)));
      return [...stores];
    },
  },
  {
    name: 'tiered',
    immediate: false,
    pair: async (prefix) => {
      const tiers = [redisStore(prefix), redisStore(prefix)];
      await Promise.all(tiers.map((s) => s.ready(5000)));
      const stores = tiers.map((l2) => new TieredCacheStore(l2, new RedisInvalidationChannel(l2), 5000));
      await Promise.all(stores.map((s) => s.connect(5000)));
      return [stores[0]!, stores[1]!];
    },
  },
];

const behaviour: CacheBehaviour = { ttlMs: 10_000, negativeTtlMs: 300, lockWaitMs: 1000 };
const redis = createClient({ url: TEST_REDIS_URL });
const prefixes: string[] = [];

afterAll(async () => {
  if (prefixes.length === 0) return;
  await redis.connect();
  for (const prefix of prefixes) {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 }))
      if (keys.length > 0) await redis.del(keys);
  }
  await redis.close();
});

const loaded = (value: { version: number } & Record<string, unknown>): Loaded => ({
  status: 200,
  body: JSON.stringify(value),
  version: value.version,
});

describe.each(variants)('CacheService contract on the $name store', (variant) => {
  let a: CacheService;
  let b: CacheService;
  let stores: CacheStore[] = [];
  let key: string;

  beforeEach(async (context) => {
    const prefix = `t-cache-contract-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const [storeA, storeB] = await variant.pair(prefix);
    stores = storeA === storeB ? [storeA] : [storeA, storeB];
    a = new CacheService(storeA, behaviour);
    b = new CacheService(storeB, behaviour);
    key = `k:${randomUUID()}`;
    context.onTestFinished(async () => {
      for (const store of stores) await store.close();
    });
  });

  /** A loader that counts its calls and takes `ms` (a database read). */
  function counting<T>(value: T, ms = 20): { calls: () => number; load: () => Promise<T> } {
    let calls = 0;
    return {
      calls: () => calls,
      load: async () => {
        calls += 1;
        await sleep(ms);
        return value;
      },
    };
  }

  it('loads on a miss, then answers from the cache without the loader', async () => {
    const loader = counting({ id: 1, version: 3 });
    expect(await a.getOrLoad(key, loader.load, { version: (v) => v.version })).toEqual({ id: 1, version: 3 });
    expect(await a.getOrLoad(key, loader.load)).toEqual({ id: 1, version: 3 });
    expect(await b.getOrLoad(key, loader.load)).toEqual({ id: 1, version: 3 });
    expect(loader.calls()).toBe(1);
  });

  it('shares one load among concurrent misses in one process (single flight)', async () => {
    const loader = counting({ version: 1 }, 50);
    const results = await Promise.all(Array.from({ length: 50 }, () => a.getOrLoad(key, loader.load)));
    expect(results.every((r) => r?.version === 1)).toBe(true);
    expect(loader.calls()).toBe(1);
  });

  it('shares one load among concurrent misses on two instances (lease)', async () => {
    const loader = counting({ version: 1 }, 50);
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? a : b).resolve(key, {}, async () => loaded(await loader.load())),
      ),
    );
    expect(loader.calls()).toBe(1);
    expect(outcomes.filter((o) => o.outcome === 'miss')).toHaveLength(1);
    expect(outcomes.every((o) => JSON.parse(o.record.body).version === 1)).toBe(true);
  });

  it('waits for a holder whose load takes far longer than CACHE_LOCK_WAIT_MS: still one load (the holder renews its lease)', async () => {
    const shortWait = { ...behaviour, lockWaitMs: 100 };
    const services = [
      new CacheService(stores[0]!, shortWait),
      new CacheService(stores.at(-1)!, shortWait),
      new CacheService(stores[0]!, shortWait),
    ];
    const loader = counting({ version: 1 }, 600);
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) => services[i % 3]!.resolve(key, {}, async () => loaded(await loader.load()))),
    );
    expect(loader.calls()).toBe(1);
    expect(outcomes.filter((o) => o.outcome === 'miss')).toHaveLength(1);
    expect(outcomes.every((o) => JSON.parse(o.record.body).version === 1)).toBe(true);
  });

  it('when the holder dies, one waiter loads once its lease expires, and the others take that value', async () => {
    // A dead holder's lease: it lives one lease TTL (CACHE_LOCK_WAIT_MS) and is never renewed.
    await stores[0]!.acquire(key, 'a-dead-holder', 150);
    const waiting = [
      new CacheService(stores[0]!, behaviour),
      new CacheService(stores.at(-1)!, behaviour),
      new CacheService(stores[0]!, behaviour),
    ];
    const loader = counting({ version: 5 }, 100);
    const outcomes = await Promise.all(
      waiting.map((service) => service.resolve(key, {}, async () => loaded(await loader.load()))),
    );
    expect(loader.calls()).toBe(1);
    expect(outcomes.filter((o) => o.outcome === 'miss')).toHaveLength(1);
    expect(outcomes.every((o) => JSON.parse(o.record.body).version === 5)).toBe(true);
  });

  it('after a holder fails, the next waiter loads (holding the lease), not every waiter', async () => {
    const services = [a, b, new CacheService(stores[0]!, behaviour)];
    let calls = 0;
    const outcomes = await Promise.allSettled(
      services.map((service, i) =>
        service.resolve(key, {}, async () => {
          calls += 1;
          await sleep(100);
          if (calls === 1) throw new ProblemException(503, 'database unavailable');
          return loaded({ version: 2, by: i });
        }),
      ),
    );
    expect(calls).toBe(2);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
  });

  it('never lets an older version replace a newer one (version guard)', async () => {
    expect(await a.set(key, { v: 'two', version: 2 }, { version: 2 })).toBe(true);
    expect(await b.set(key, { v: 'one', version: 1 }, { version: 1 })).toBe(false);
    expect(await a.getOrLoad(key, () => Promise.resolve({ v: 'loaded', version: 0 }))).toEqual({
      v: 'two',
      version: 2,
    });
    // The same version may be written again (a reader and the writer agree on it).
    expect(await b.set(key, { v: 'two', version: 2 }, { version: 2 })).toBe(true);
  });

  it('keeps a write that lands while a reader is loading an older version (stale set)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const reader = a.getOrLoad(
      key,
      async () => {
        await gate; // the reader has read v1 from the database, and is slow to store it
        return { v: 'old', version: 1 };
      },
      { version: (v) => v.version },
    );
    await sleep(20);
    expect(await b.set(key, { v: 'new', version: 2 }, { version: 2 })).toBe(true);
    release();
    expect(await reader).toEqual({ v: 'old', version: 1 }); // what that reader read
    await expectEventually(async () =>
      expect(await b.getOrLoad(key, () => Promise.resolve(undefined))).toEqual({ v: 'new', version: 2 }),
    );
    await expectEventually(async () =>
      expect(await a.getOrLoad(key, () => Promise.resolve(undefined))).toEqual({ v: 'new', version: 2 }),
    );
  });

  it('a read that starts after a write was acknowledged never shares a load that began before it (single flight)', async () => {
    // As after a Redis restart: the breaker is open for reads, leases and fills, so every read is
    // a miss that goes through single flight, while write-throughs still land (they bypass it).
    const open = withOpenBreaker(stores[0]!);
    const reads = new CacheService(open, behaviour);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let loading!: () => void;
    const loadBegan = new Promise<void>((resolve) => (loading = resolve));
    const before = reads.resolve(key, {}, async () => {
      loading();
      const row = loaded({ v: 'old', version: 1 }); // read from the database before the write's commit
      await gate;
      return row;
    });
    await loadBegan;
    expect(await b.set(key, { v: 'new', version: 2 }, { version: 2 })).toBe(true); // committed, acknowledged
    const after = reads.resolve(key, {}, () => Promise.resolve(loaded({ v: 'new', version: 2 })));
    await sleep(20);
    release();
    expect(JSON.parse((await before).record.body)).toEqual({ v: 'old', version: 1 }); // what that reader read
    expect(JSON.parse((await after).record.body)).toEqual({ v: 'new', version: 2 });
  });

  it('never stores what a reader loaded before a write-through, even once the newer entry is gone (expired, evicted, Redis restarted empty)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let loading!: () => void;
    const loadBegan = new Promise<void>((resolve) => (loading = resolve));
    const reader = a.resolve(key, {}, async () => {
      loading();
      const row = loaded({ v: 'old', version: 1 });
      await gate;
      return row;
    });
    await loadBegan;
    expect(await b.set(key, { v: 'new', version: 2 }, { version: 2, ttlMs: 30 })).toBe(true);
    await sleep(100); // the newer entry has left the store; nothing is left for the version guard to compare with
    release();
    expect(await reader).toMatchObject({ outcome: 'miss', stored: false }); // it loaded, and was refused
    expect(await b.getOrLoad(key, () => Promise.resolve({ v: 'new', version: 2 }))).toEqual({ v: 'new', version: 2 });
    expect(await a.getOrLoad(key, () => Promise.resolve({ v: 'new', version: 2 }))).toEqual({ v: 'new', version: 2 });
  });

  it('answers a tombstone as not found, and no older reader can overwrite it', async () => {
    await a.set(key, { version: 4 }, { version: 4 });
    expect(await a.tombstone(key, 4, 'Thing not found')).toBe(true);
    expect(await b.set(key, { version: 4 }, { version: 4 })).toBe(false);
    const loader = counting({ version: 4 });
    expect(await b.getOrLoad(key, loader.load)).toBeUndefined();
    const resolved = await b.resolve(key, {}, async () => loaded(await loader.load()));
    expect(resolved.record).toMatchObject({ status: 404, body: 'Thing not found' });
    expect(loader.calls()).toBe(0);
  });

  it('caches a not-found briefly (negative TTL), then loads again', async () => {
    let calls = 0;
    const missing = () => {
      calls += 1;
      return Promise.resolve(undefined);
    };
    expect(await a.getOrLoad(key, missing)).toBeUndefined();
    expect(await b.getOrLoad(key, missing)).toBeUndefined();
    expect(calls).toBe(1);
    await sleep(behaviour.negativeTtlMs + 50);
    expect(await a.getOrLoad(key, missing)).toBeUndefined();
    expect(calls).toBe(2);
  });

  it('lets a creation replace a cached not-found', async () => {
    expect(await a.getOrLoad(key, () => Promise.resolve(undefined))).toBeUndefined();
    expect(await a.set(key, { version: 1 }, { version: 1 })).toBe(true);
    expect(await expectEventuallyValue(() => b.getOrLoad(key, () => Promise.resolve(undefined)), { version: 1 })).toBe(
      true,
    );
  });

  it('spreads TTLs by ±10% (jitter)', async () => {
    const now = Date.now();
    const expiries = await Promise.all(
      Array.from(
        { length: 40 },
        async (_, i) =>
          (await a.resolve(`${key}:${i}`, {}, () => Promise.resolve(loaded({ version: 1 })))).record.expiresAt - now,
      ),
    );
    for (const ttl of expiries) {
      expect(ttl).toBeGreaterThanOrEqual(behaviour.ttlMs * 0.9 - 50);
      expect(ttl).toBeLessThanOrEqual(behaviour.ttlMs * 1.1 + 50);
    }
    expect(new Set(expiries.map((t) => Math.round(t / 100))).size).toBeGreaterThan(5);
  });

  it('makes every entry under a tag a miss once the tag is invalidated (generations)', async () => {
    const page = (n: number) => () => Promise.resolve({ page: n });
    const policy = { tags: ['things'] };
    await a.getOrLoad(`${key}:p1`, page(1), policy);
    await a.getOrLoad(`${key}:p2`, page(2), policy);
    expect(await b.getOrLoad(`${key}:p1`, page(-1), policy)).toEqual({ page: 1 });

    await b.invalidateTags(['things']);
    expect(await b.getOrLoad(`${key}:p1`, page(10), policy)).toEqual({ page: 10 });
    expect(await b.getOrLoad(`${key}:p2`, page(20), policy)).toEqual({ page: 20 });
    // The other instance sees it at once (shared store), or after the pub/sub hop (L1 tier).
    await expectEventually(async () => expect(await a.getOrLoad(`${key}:p2`, page(-2), policy)).toEqual({ page: 20 }));
  });

  it('never stores a page loaded under a generation that a write has since replaced', async () => {
    const policy = { tags: ['race'] };
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = a.getOrLoad(
      key,
      async () => {
        await gate;
        return { page: 'before the write' };
      },
      policy,
    );
    await sleep(20);
    await b.invalidateTags(['race']);
    release();
    await slow;
    expect(await b.getOrLoad(key, () => Promise.resolve({ page: 'after the write' }), policy)).toEqual({
      page: 'after the write',
    });
  });

  it('refreshes a hot entry before it expires (refresh-ahead), so readers keep hitting', async () => {
    const hot = new CacheService(stores[0]!, { ...behaviour, ttlMs: 800, jitter: 0, refreshBeta: 2 });
    let version = 0;
    const load = async (): Promise<Loaded> => {
      version += 1;
      await sleep(30);
      return loaded({ version });
    };
    const first = await hot.resolve(key, {}, load);
    expect(first.outcome).toBe('miss');
    const outcomes: string[] = [];
    const until = first.record.expiresAt + 300;
    while (Date.now() < until) {
      outcomes.push((await hot.resolve(key, {}, load)).outcome);
      await sleep(5);
    }
    expect(version).toBeGreaterThan(1);
    expect(outcomes.filter((o) => o !== 'hit')).toEqual([]);
  });

  it('an expired entry is served stale when the loader fails with 503, not when it fails with 404/400, and not after the grace period', async () => {
    const graceMs = 600;
    const staleA = new CacheService(stores[0]!, { ...behaviour, ttlMs: 200, jitter: 0, staleIfErrorMs: graceMs });
    const staleB = new CacheService(stores.at(-1)!, { ...behaviour, ttlMs: 200, jitter: 0, staleIfErrorMs: graceMs });
    const failing = (error: Error) => () => Promise.reject(error);
    const databaseDown = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const listKey = `${key}:list`;
    const list = { tags: ['stale-things'] };

    const first = await staleA.resolve(key, {}, () => Promise.resolve(loaded({ version: 3 })));
    expect(first.stored).toBe(true);
    await staleA.resolve(listKey, list, () => Promise.resolve(loaded({ version: 1 })));
    await sleep(first.record.expiresAt - Date.now() + 50);

    // Past its TTL: an answer from the database (404, 400) is never replaced by the stale entry.
    await expect(staleB.resolve(key, {}, failing(new ProblemException(404, 'gone')))).rejects.toThrow(ProblemException);
    await expect(staleB.resolve(key, {}, failing(new ProblemException(400, 'bad')))).rejects.toThrow(ProblemException);
    // The database is unavailable: the expired entry answers, on either instance.
    for (const [service, error] of [
      [staleB, new ProblemException(503, 'Database unavailable')],
      [staleA, databaseDown],
    ] as const) {
      const resolved = await service.resolve(key, {}, failing(error));
      expect(resolved.outcome).toBe('stale');
      expect(JSON.parse(resolved.record.body)).toEqual({ version: 3 });
      expect(resolved.record.expiresAt).toBeLessThan(Date.now());
    }
    // A list page whose tag changed since it was loaded is never served stale.
    await staleB.invalidateTags(['stale-things']);
    await expect(staleA.resolve(listKey, list, failing(databaseDown))).rejects.toThrow(/ECONNREFUSED/);

    await sleep(first.record.expiresAt + graceMs - Date.now() + 50);
    await expect(staleB.resolve(key, {}, failing(new ProblemException(503, 'Database unavailable')))).rejects.toThrow(
      ProblemException,
    );
  });

  it('removes an entry with delete', async () => {
    await a.set(key, { version: 1 }, { version: 1 });
    await a.delete(key);
    expect(
      await expectEventuallyValue(() => b.getOrLoad(key, () => Promise.resolve({ version: 9 })), { version: 9 }),
    ).toBe(true);
  });

  async function expectEventually(check: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + (variant.immediate ? 0 : 2000);
    for (;;) {
      try {
        return await check();
      } catch (error) {
        if (Date.now() >= deadline) throw error;
        await sleep(10);
      }
    }
  }

  async function expectEventuallyValue(read: () => Promise<unknown>, expected: unknown): Promise<boolean> {
    await expectEventually(async () => expect(await read()).toEqual(expected));
    return true;
  }
});

/**
 * A store as the Redis store's open breaker leaves it (a fake port): reads, generations, leases
 * and fills fail at once, `commit` writes (write-through) go through.
 */
function withOpenBreaker(store: CacheStore): CacheStore {
  const refused = () => Promise.reject(new Error('Breaker is open'));
  return {
    kind: store.kind,
    read: refused,
    generations: refused,
    acquire: refused,
    renew: refused,
    release: refused,
    write: (key: string, record: CacheRecord, ttlMs: number, options: WriteOptions = {}) =>
      options.mode === 'commit' ? store.write(key, record, ttlMs, options) : refused(),
    delete: (key, mode) => store.delete(key, mode),
    bump: (tags, mode) => store.bump(tags, mode),
    status: () => store.status(),
    close: () => Promise.resolve(),
  };
}
