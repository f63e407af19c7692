import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisCluster } from '../../../test/support/redis-cluster.js';
import { TEST_REDIS_URL } from '../../../test/support/services.js';
import { MemoryRateLimitStore } from './memory-rate-limit.store.js';
import type { RateLimitStore, TierLimit } from './rate-limit.store.js';
import { RedisRateLimitStore } from './redis-rate-limit.store.js';

// One contract, run against each implementation: the in-memory store must behave as the Redis one.
const prefix = `t-rl-contract-${randomUUID().slice(0, 8)}`;
const redisStores: RedisRateLimitStore[] = [];
// A real 3-master cluster, started on first use: a request's tiers share its client's hash tag.
let cluster: Promise<RedisCluster> | undefined;

const implementations: Array<[string, () => Promise<RateLimitStore>]> = [
  ['memory', () => Promise.resolve(new MemoryRateLimitStore())],
  [
    'redis',
    async () => {
      const store = new RedisRateLimitStore({ url: TEST_REDIS_URL, keyPrefix: prefix });
      expect(await store.connect()).toBe(true);
      redisStores.push(store);
      return store;
    },
  ],
  [
    'redis cluster',
    async () => {
      cluster ??= RedisCluster.start();
      const store = new RedisRateLimitStore({
        clusterNodes: [`redis://${(await cluster).seeds.split(',')[0]}`],
        keyPrefix: prefix,
      });
      expect(await store.connect()).toBe(true);
      redisStores.push(store);
      return store;
    },
  ],
];

afterAll(async () => {
  const admin = new Redis(TEST_REDIS_URL);
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
  await Promise.all(redisStores.map((store) => store.close()));
  await (await cluster)?.stop();
});

const tier = (limit: number, windowMs: number, name = 'default'): TierLimit => ({
  name,
  bucket: name,
  limit,
  windowMs,
});
const client = () => `ip:${randomUUID()}`;

describe.each(implementations)('RateLimitStore contract: %s', (_name, create) => {
  it('admits exactly `limit` requests in a window, then refuses with a wait within the window', async () => {
    const store = await create();
    const who = client();
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await store.consume(who, [tier(5, 60_000)]));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false, false]);
    expect(results.map((r) => r.tiers[0]!.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0]);
    const refused = results[5]!;
    expect(refused.refusedBy).toBe('default');
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(results[0]!.tiers[0]!.resetMs).toBeGreaterThan(59_000);
  });

  it('is atomic under concurrency: 200 parallel calls, limit 10 → 10 admitted', async () => {
    const store = await create();
    const who = client();
    const results = await Promise.all(Array.from({ length: 200 }, () => store.consume(who, [tier(10, 60_000)])));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
  });

  it('peek decides like consume but counts nothing', async () => {
    const store = await create();
    const who = client();
    const limit = [tier(2, 60_000, 'auth-failure')];
    for (let i = 0; i < 5; i++) expect((await store.peek(who, limit)).allowed).toBe(true);
    expect((await store.peek(who, limit)).tiers[0]!.remaining).toBe(2);
    await store.consume(who, limit);
    await store.consume(who, limit);
    const full = await store.peek(who, limit);
    expect(full.allowed).toBe(false);
    expect(full.refusedBy).toBe('auth-failure');
    expect(full.retryAfterMs).toBeGreaterThan(0);
    expect(full.tiers[0]!.remaining).toBe(0);
  });

  it('keeps clients and buckets apart', async () => {
    const store = await create();
    const [a, b] = [client(), client()];
    expect((await store.consume(a, [tier(1, 60_000)])).allowed).toBe(true);
    expect((await store.consume(a, [tier(1, 60_000)])).allowed).toBe(false);
    expect((await store.consume(b, [tier(1, 60_000)])).allowed).toBe(true);
    expect(
      (await store.consume(a, [{ name: 'default', bucket: 'default@Route.handler', limit: 1, windowMs: 60_000 }]))
        .allowed,
    ).toBe(true);
  });

  it('decides all tiers at once: a refused request counts in none of them', async () => {
    const store = await create();
    const who = client();
    const tiers = [tier(2, 60_000, 'burst'), tier(3, 60_000, 'default')];
    expect((await store.consume(who, tiers)).allowed).toBe(true);
    expect((await store.consume(who, tiers)).allowed).toBe(true);
    const refused = await store.consume(who, tiers);
    expect(refused.allowed).toBe(false);
    expect(refused.refusedBy).toBe('burst');
    // The refusal did not spend the default tier's third slot.
    const alone = await store.consume(who, [tier(3, 60_000, 'default')]);
    expect(alone.allowed).toBe(true);
    expect(alone.tiers[0]!.remaining).toBe(0);
  });

  it('slides: capacity returns as admissions age out of the window', async () => {
    const store = await create();
    const who = client();
    expect((await store.consume(who, [tier(2, 300)])).allowed).toBe(true);
    expect((await store.consume(who, [tier(2, 300)])).allowed).toBe(true);
    const refused = await store.consume(who, [tier(2, 300)]);
    expect(refused.allowed).toBe(false);
    await sleep(refused.retryAfterMs + 20);
    expect((await store.consume(who, [tier(2, 300)])).allowed).toBe(true);
  });

  it('serves @nestjs/throttler through increment(), with times in seconds', async () => {
    const store = await create();
    const key = client();
    const first = await store.increment(key, 30_000, 1, 30_000, 'default');
    expect(first).toMatchObject({ totalHits: 1, isBlocked: false, timeToBlockExpire: 0 });
    expect(first.timeToExpire).toBe(30);
    const second = await store.increment(key, 30_000, 1, 30_000, 'default');
    expect(second.isBlocked).toBe(true);
    expect(second.timeToBlockExpire).toBeGreaterThanOrEqual(1);
    expect(second.timeToBlockExpire).toBeLessThanOrEqual(30);
  });
});
