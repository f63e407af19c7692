import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheStore } from '../../src/infra/cache/cache.store.js';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TEST_REDIS_URL } from '../support/services.js';

// Issue 13 item 1: 5 000 spellings of two list queries (pages of ~230 KB) used to be 5 000 cache
// entries: ~1.2 GB of heap with the memory store or the L1 tier, or of Redis. Now they are two.

const SPELLINGS = 5000;
const LIMIT_NAMES = ['limit', '%6cimit', 'li%6dit', '%6C%69%6D%69%74', 'limi%74'];
const LIMIT_VALUES = ['100', '0100', '00100', '000100'];

/** 5 000 distinct query strings meaning one of two queries: `limit=100`, or `active=true&limit=100`. */
function spellings(): string[] {
  const out: string[] = [];
  for (let amps = 0; amps < 125; amps++) {
    for (const name of LIMIT_NAMES) {
      for (const value of LIMIT_VALUES) {
        out.push(`?${'&'.repeat(amps)}${name}=${value}`);
        out.push(
          amps % 2 === 0
            ? `?active=true&${name}=${value}${'&'.repeat(amps)}`
            : `?${name}=${value}&${'&'.repeat(amps)}active=true`,
        );
      }
    }
  }
  return out;
}

let db: TestDatabase;
const redis = createClient({ url: TEST_REDIS_URL });
const PREFIX = `t-cbound-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  await redis.connect();
  db = await createTestDatabase('cache_bound');
  const seed = await bootTestApp({ DATABASE_URL: db.url, CACHE_STORE: 'none', REDIS_URL: undefined });
  for (let i = 0; i < 100; i++) {
    const created = await seed.request('/v1/products', {
      method: 'POST',
      json: {
        sku: `B-${i}`,
        name: `Bulky ${i}`,
        priceCents: 100,
        currency: 'EUR',
        description: `${i} `.padEnd(2000, 'd'),
      },
    });
    expect(created.status).toBe(201);
  }
  await seed.close();
});

afterAll(async () => {
  await db?.drop();
  for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}:*`, COUNT: 1000 }))
    if (keys.length > 0) await redis.del(keys);
  await redis.close();
});

async function drive(api: TestApp): Promise<{ pageBytes: number; heapGrowthMb: number }> {
  const queries = spellings();
  expect(new Set(queries).size).toBe(SPELLINGS);
  let pageBytes = 0;
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < queries.length; i += 25) {
    await Promise.all(
      queries.slice(i, i + 25).map(async (query) => {
        // Bare fetch: the OpenAPI response checker behind api.request would hold a clone of each 224 KB page.
        const response = await fetch(`${api.baseUrl}/v1/products${query}`);
        expect(response.status, query).toBe(200);
        pageBytes = Math.max(pageBytes, (await response.arrayBuffer()).byteLength);
      }),
    );
  }
  return { pageBytes, heapGrowthMb: Math.round((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20) };
}

describe('5 000 spellings of two list queries', () => {
  it('memory store: two entries, bytes bounded', async () => {
    const api = await bootTestApp({ DATABASE_URL: db.url, CACHE_STORE: 'memory', REDIS_URL: undefined });
    try {
      const { pageBytes, heapGrowthMb } = await drive(api);
      const usage = api.app.get<{ usage(): { entries: number; bytes: number } }>(CacheStore).usage();
      console.log(
        `[cache-bound:memory] page=${pageBytes} B entries=${usage.entries} bytes=${usage.bytes} heapGrowth=${heapGrowthMb} MiB`,
      );
      expect(pageBytes).toBeGreaterThan(200_000);
      expect(usage.entries).toBe(2);
      expect(usage.bytes).toBeLessThan(5 * pageBytes); // two entries, counted at two bytes per character
      // Generous (garbage from 5 000 responses is in it): 5 000 entries would be > 1 GiB.
      expect(heapGrowthMb).toBeLessThan(400);
    } finally {
      await api.close();
    }
  });

  it('Redis with the L1 tier: two entries in Redis and in L1', async () => {
    const api = await bootTestApp({
      DATABASE_URL: db.url,
      CACHE_STORE: 'redis',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      CACHE_L1_TTL_MS: '5000',
    });
    try {
      const { pageBytes, heapGrowthMb } = await drive(api);
      const l1 = api.app.get<{ usage(): { entries: number; bytes: number } }>(CacheStore).usage();
      const keys: string[] = [];
      for await (const found of redis.scanIterator({ MATCH: `${PREFIX}:cache:products:list:*`, COUNT: 1000 }))
        keys.push(...found);
      let redisBytes = 0;
      for (const key of keys) redisBytes += (await redis.memoryUsage(key)) ?? 0;
      console.log(
        `[cache-bound:redis+l1] page=${pageBytes} B redisEntries=${keys.length} redisBytes=${redisBytes} l1Entries=${l1.entries} l1Bytes=${l1.bytes} heapGrowth=${heapGrowthMb} MiB`,
      );
      expect(keys.sort()).toEqual([
        `${PREFIX}:cache:products:list:active=true&limit=100`,
        `${PREFIX}:cache:products:list:limit=100`,
      ]);
      expect(redisBytes).toBeLessThan(4 * pageBytes);
      expect(l1.entries).toBeLessThanOrEqual(2);
      expect(heapGrowthMb).toBeLessThan(400);
    } finally {
      await api.close();
    }
  });
});
