import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../../test/support/redis-server.js';
import {
  FailoverRateLimitStore,
  RateLimiterUnavailableError,
  type ThrottleFailMode,
} from './failover-rate-limit.store.js';
import { MemoryRateLimitStore } from './memory-rate-limit.store.js';
import type { TierLimit } from './rate-limit.store.js';
import { RedisRateLimitStore } from './redis-rate-limit.store.js';
import { SLIDING_WINDOW } from './sliding-window.script.js';

// A private redis-server: these tests read its command statistics and stop it.
let server: RedisServer;
let admin: Redis;
const stores: RedisRateLimitStore[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
  admin = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  admin.on('error', () => undefined);
});

afterAll(async () => {
  admin.disconnect();
  await Promise.all(stores.map((store) => store.close()));
  await server.stop();
});

async function connectedStore(keyPrefix = 'app'): Promise<RedisRateLimitStore> {
  const store = new RedisRateLimitStore({ url: server.url, keyPrefix });
  stores.push(store);
  expect(await store.connect()).toBe(true);
  return store;
}

const tiers: TierLimit[] = [
  { name: 'burst', bucket: 'burst', limit: 5, windowMs: 1_000 },
  { name: 'default', bucket: 'default', limit: 100, windowMs: 60_000 },
];

async function commandCalls(): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

async function waitUntil(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await sleep(50);
  }
  throw new Error('condition not reached in 10 s');
}

describe('RedisRateLimitStore', () => {
  it('costs one round trip per request: one EVALSHA for all tiers, nothing else', async () => {
    const store = await connectedStore();
    await admin.config('RESETSTAT');
    for (let i = 0; i < 50; i++) await store.consume(`ip:198.51.100.${i % 10}`, tiers);
    const calls = await commandCalls();
    expect(calls.evalsha).toBe(50);
    expect(calls.eval ?? 0).toBe(0);
    // The commands the script runs inside Redis are counted too, but cost no network round trip.
    expect(
      Object.keys(calls).filter(
        (name) => !['evalsha', 'config', 'info', 'lindex', 'lpop', 'llen', 'rpush', 'pexpire', 'time'].includes(name),
      ),
    ).toEqual([]);
  });

  it("keeps a client's tiers under one hash tag (one Redis Cluster slot), under the key prefix", async () => {
    const store = await connectedStore('tenant-a');
    await store.consume('key:mobile-app', tiers);
    const keys = (await admin.keys('tenant-a:*')).sort();
    expect(keys).toEqual(['tenant-a:throttle:{key:mobile-app}:burst', 'tenant-a:throttle:{key:mobile-app}:default']);
    const [burstTtl, defaultTtl] = await Promise.all(keys.map((key) => admin.pttl(key)));
    expect(burstTtl).toBeGreaterThan(0);
    expect(burstTtl).toBeLessThanOrEqual(1_000);
    expect(defaultTtl).toBeGreaterThan(59_000);
  });

  it('falls back to EVAL once when Redis forgot the script (NOSCRIPT), then uses EVALSHA again', async () => {
    const store = await connectedStore();
    await admin.script('FLUSH');
    expect(await admin.script('EXISTS', SLIDING_WINDOW.sha)).toEqual([0]);
    await admin.config('RESETSTAT');
    for (let i = 0; i < 3; i++) expect((await store.consume('ip:203.0.113.9', tiers)).allowed).toBe(true);
    const calls = await commandCalls();
    expect(calls.eval).toBe(1);
    expect(calls.evalsha).toBe(3); // the first one answered NOSCRIPT
    expect(await admin.script('EXISTS', SLIDING_WINDOW.sha)).toEqual([1]);
  });
});

describe('FailoverRateLimitStore', () => {
  const build = async (failMode: ThrottleFailMode) => {
    const redis = await connectedStore(`fo-${failMode}`);
    const fallbacks: ThrottleFailMode[] = [];
    const store = new FailoverRateLimitStore(redis, new MemoryRateLimitStore(), {
      failMode,
      timeoutMs: 200,
      cooldownMs: 100,
      onFallback: (mode) => fallbacks.push(mode),
    });
    return { redis, store, fallbacks };
  };
  const one: TierLimit[] = [{ name: 'default', bucket: 'default', limit: 2, windowMs: 60_000 }];

  it('local: limits per instance in memory while Redis is down, and goes back to Redis when it returns', async () => {
    const local = await build('local');
    const closed = await build('closed');
    expect((await local.store.consume('ip:a', one)).allowed).toBe(true);
    expect((await closed.store.consume('ip:a', one)).allowed).toBe(true);

    await server.stop();
    // The in-memory limiter starts from zero, but still refuses past the limit: never unlimited.
    const during = [];
    for (let i = 0; i < 4; i++) during.push((await local.store.consume('ip:a', one)).allowed);
    expect(during).toEqual([true, true, false, false]);
    expect(local.fallbacks).toEqual(['local', 'local', 'local', 'local']);
    // closed: no decision without Redis.
    await expect(closed.store.consume('ip:a', one)).rejects.toBeInstanceOf(RateLimiterUnavailableError);
    expect(closed.fallbacks).toEqual(['closed']);

    await server.resume();
    await waitUntil(() => local.redis.ready && closed.redis.ready);
    await sleep(150); // past the breaker's cooldown
    // Redis restarted empty (no persistence, no script cache): a fresh window, decided in Redis again.
    expect((await local.store.consume('ip:b', one)).allowed).toBe(true);
    expect((await closed.store.consume('ip:b', one)).allowed).toBe(true);
    expect(local.fallbacks).toHaveLength(4);
    expect(closed.fallbacks).toHaveLength(1);
    expect(await admin.exists('fo-local:throttle:{ip:b}:default')).toBe(1);
  });

  it('starts without Redis and picks it up once it answers', async () => {
    await server.stop();
    const redis = new RedisRateLimitStore({ url: server.url, keyPrefix: 'late', connectTimeoutMs: 300 });
    stores.push(redis);
    expect(await redis.connect()).toBe(false);
    const store = new FailoverRateLimitStore(redis, new MemoryRateLimitStore(), {
      failMode: 'local',
      timeoutMs: 200,
      cooldownMs: 0,
    });
    expect((await store.consume('ip:a', one)).allowed).toBe(true);
    await server.resume();
    await waitUntil(() => redis.ready);
    expect((await store.consume('ip:c', one)).allowed).toBe(true);
    expect(await admin.exists('late:throttle:{ip:c}:default')).toBe(1);
  });
});
