import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/eventually.js';
import { RedisServer } from '../../../test/support/redis-server.js';
import { TcpProxy } from '../../../test/support/tcp-proxy.js';
import { decodeRecord } from './cache-record.js';
import { CacheService } from './cache.service.js';
import { RedisCacheStore } from './redis.store.js';
import type { WriteThroughRepairs } from './write-through-repairs.js';

// Fail-fast behaviour of the Redis store against a private redis-server, reached through a proxy
// that the tests cut and restore (an outage that keeps the data, as a network partition does).
let server: RedisServer;
let proxy: TcpProxy;
const admin = () => createClient({ url: server.url });

beforeAll(async () => {
  server = await RedisServer.start();
  proxy = await TcpProxy.start({ host: '127.0.0.1', port: server.port });
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

async function open(
  commandTimeoutMs = 200,
  keyPrefix = `t-store-${randomUUID().slice(0, 8)}`,
): Promise<RedisCacheStore> {
  const store = new RedisCacheStore({
    url: proxy.rewrite(server.url),
    keyPrefix,
    commandTimeoutMs,
    breakerHalfOpenMs: 300,
    breakerThreshold: 3,
  });
  store.connect();
  await store.ready(5000);
  return store;
}

describe('RedisCacheStore when Redis is unreachable', () => {
  it('fails at once, opens the breaker after 3 failures, short-circuits, and recovers', async () => {
    const store = await open();
    const cache = new CacheService(store, { ttlMs: 60_000, negativeTtlMs: 1000, lockWaitMs: 50 });
    try {
      await proxy.stop();
      let loads = 0;
      const loader = () => {
        loads += 1;
        return Promise.resolve({ version: 1 });
      };
      for (let i = 0; i < 50; i++) expect(await cache.getOrLoad(`k:${i}`, loader)).toEqual({ version: 1 });
      expect(loads).toBe(50);
      const status = store.status();
      expect(status.breaker).toBe('open');
      // Only the calls before the breaker opened reached the client; every other one was refused at once.
      expect(status.commands).toBeLessThanOrEqual(3);
      expect(status.shortCircuited).toBeGreaterThanOrEqual(45);

      await proxy.resume();
      await eventually(async () => {
        await store.read('probe', []);
        expect(store.status().breaker).toBe('closed');
      }, 10_000);
      expect(await cache.set('k:back', { version: 1 }, { version: 1 })).toBe(true);
      expect(await cache.getOrLoad('k:back', () => Promise.resolve({ version: 0 }))).toEqual({ version: 1 });
    } finally {
      await proxy.resume();
      await store.close();
    }
  });

  it('fences a key whose write-through failed during the outage, and treats it as a miss until then', async () => {
    const prefix = `t-store-${randomUUID().slice(0, 8)}`;
    const store = await open(200, prefix);
    const inspector = admin();
    await inspector.connect();
    const cache = new CacheService(store, { ttlMs: 60_000, negativeTtlMs: 1000, lockWaitMs: 50 });
    try {
      expect(await cache.set('item', { name: 'old', version: 1 }, { version: 1 })).toBe(true);
      await proxy.stop();
      expect(await cache.set('item', { name: 'new', version: 2 }, { version: 2 })).toBe(false);
      expect((await store.read('item', [])).record).toBeUndefined();

      await proxy.resume();
      // The old value (v1) must not come back: the key holds a fence of v2 (no value, never fresh),
      // and the next read loads the row.
      await eventually(async () => {
        await store.read('other', []);
        expect(store.status().breaker).toBe('closed');
        const raw = await inspector.get(`${prefix}:cache:item`);
        expect(decodeRecord(raw ?? '')).toMatchObject({ version: 2, status: 404, body: '', expiresAt: 0 });
      }, 10_000);
      expect(await cache.getOrLoad('item', () => Promise.resolve({ name: 'db', version: 2 }))).toEqual({
        name: 'db',
        version: 2,
      });
    } finally {
      await proxy.resume();
      await inspector.close();
      await store.close();
    }
  });

  it('the repair of a missed write-through fences the key: no reader that loaded before the write, and no older write, can store over it', async () => {
    // Instance A reaches Redis through the proxy (cut below); instance B reaches it directly, so
    // it goes on storing while A cannot.
    const prefix = `t-store-${randomUUID().slice(0, 8)}`;
    const storeA = await open(200, prefix);
    const storeB = new RedisCacheStore({
      url: server.url,
      keyPrefix: prefix,
      commandTimeoutMs: 200,
      breakerHalfOpenMs: 300,
    });
    storeB.connect();
    await storeB.ready(5000);
    const behaviour = { ttlMs: 60_000, negativeTtlMs: 1000, lockWaitMs: 1000 };
    const cacheA = new CacheService(storeA, behaviour);
    const cacheB = new CacheService(storeB, behaviour);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let loading!: () => void;
    const loadBegan = new Promise<void>((resolve) => (loading = resolve));
    try {
      // On B, a reader read v1 from the database (holding the key's lease) and is slow to store it.
      const reader = cacheB.getOrLoad(
        'item',
        async () => {
          loading();
          await gate;
          return { name: 'v1', version: 1 };
        },
        { version: (v) => v.version },
      );
      await loadBegan;
      await proxy.stop();
      // A commits v2; its write-through cannot reach Redis (it is remembered), and the write is acknowledged.
      expect(await cacheA.set('item', { name: 'v2', version: 2 }, { version: 2 })).toBe(false);
      await proxy.resume();
      const repairs = (storeA as unknown as { repairs: WriteThroughRepairs }).repairs;
      await eventually(() => expect(repairs.hasKey('item')).toBe(false), 10_000);

      release();
      expect(await reader).toEqual({ name: 'v1', version: 1 }); // what that reader read
      // A write-through of v1 from a third instance, delayed past all this, is refused too.
      expect(await cacheB.set('item', { name: 'v1', version: 1 }, { version: 1 })).toBe(false);
      expect(await cacheB.getOrLoad('item', () => Promise.resolve({ name: 'db', version: 2 }))).toEqual({
        name: 'db',
        version: 2,
      });
    } finally {
      release();
      await proxy.resume();
      await storeB.close();
      await storeA.close();
    }
  });

  it('times a command out instead of waiting for a Redis that does not answer', async () => {
    const store = await open(100);
    const client = admin();
    await client.connect();
    try {
      await client.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
      await expect(store.read('slow', [])).rejects.toThrow(/timeout/i);
      expect(store.status().failures).toBe(1);
    } finally {
      await client.sendCommand(['CLIENT', 'UNPAUSE']).catch(() => undefined);
      await client.close();
      await store.close();
    }
  });

  it('lets a write-through past a breaker that slow reads opened, with its longer timeout', async () => {
    // A loaded machine: Redis is up but answers late (CLIENT PAUSE), so 100 ms reads time out and open the breaker.
    const store = new RedisCacheStore({
      url: server.url,
      keyPrefix: `t-store-${randomUUID().slice(0, 8)}`,
      commandTimeoutMs: 100,
      writeTimeoutMs: 3000,
      breakerHalfOpenMs: 60_000,
      breakerThreshold: 3,
    });
    store.connect();
    await store.ready(5000);
    const cache = new CacheService(store, { ttlMs: 60_000, negativeTtlMs: 1000, lockWaitMs: 50 });
    const client = admin();
    await client.connect();
    try {
      expect(await cache.set('item', { name: 'v4', version: 4 }, { version: 4 })).toBe(true);
      await client.sendCommand(['CLIENT', 'PAUSE', '600', 'ALL']);
      const reads = await Promise.allSettled([1, 2, 3].map((i) => store.read(`slow:${i}`, [])));
      expect(reads.every((r) => r.status === 'rejected')).toBe(true);
      expect(store.status().breaker).toBe('open');

      // Still paused: the write waits for Redis (up to writeTimeoutMs) instead of being refused.
      expect(await cache.set('item', { name: 'v5', version: 5 }, { version: 5 })).toBe(true);
      await cache.invalidateTags(['items']);
      // After the pause: lands at once, the breaker still open for reads.
      expect(await cache.tombstone('gone', 1, 'Item not found')).toBe(true);
      expect(store.status().breaker).toBe('open');
      await expect(store.read('item', [])).rejects.toThrow(/circuit|open/i);

      const prefix = (store as unknown as { entryPrefix: string }).entryPrefix;
      expect(decodeRecord((await client.get(`${prefix}item`))!)).toMatchObject({
        version: 5,
        body: '{"name":"v5","version":5}',
      });
      expect(decodeRecord((await client.get(`${prefix}gone`))!)).toMatchObject({ status: 404, version: 2 });
      const tagPrefix = (store as unknown as { tagPrefix: string }).tagPrefix;
      expect(await client.get(`${tagPrefix}items`)).not.toBeNull();
    } finally {
      await client.sendCommand(['CLIENT', 'UNPAUSE']).catch(() => undefined);
      await client.close();
      await store.close();
    }
  });

  it('stores records that decode to what was written, under its key prefix', async () => {
    const store = await open();
    const client = admin();
    await client.connect();
    try {
      const record = {
        version: 7,
        status: 200 as const,
        body: '{"a":"b|c\\nd"}',
        expiresAt: Date.now() + 10_000,
        computeMs: 3,
      };
      expect(await store.write('x', record, 10_000)).toBe(true);
      const prefix = (store as unknown as { entryPrefix: string }).entryPrefix;
      const raw = await client.get(`${prefix}x`);
      expect(decodeRecord(raw!)).toEqual(record);
      expect(await client.pTTL(`${prefix}x`)).toBeGreaterThan(9000);
    } finally {
      await client.close();
      await store.close();
    }
  });
});
