import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { TEST_REDIS_URL } from '../support/services.js';

// Two instances on one Postgres and one Redis, as a deployment runs them; 50 clients, each with its
// own API key (the viewer is the key's name), plus one without a key (its IP).
const PREFIX = `t-popularity-${randomUUID().slice(0, 8)}`;
const CLIENTS = Array.from({ length: 50 }, (_, i) => ({ name: `client-${i}`, secret: `secret-${i}-${PREFIX}` }));
const WRITER = CLIENTS[0]!.secret;
const HOUR = 3_600_000;
let db: TestDatabase;
let one: TestApp;
let two: TestApp;
const redis = createClient({ url: TEST_REDIS_URL });
let env: Record<string, string | undefined>;

interface Product {
  id: string;
  version: number;
}
interface Popular {
  window: string;
  items: Array<{ product: Product & { name: string }; views: number }>;
}
interface Stats {
  id: string;
  views: Record<'1h' | '24h' | '7d', number>;
  uniqueViewers: Record<'1h' | '24h' | '7d', number>;
}

beforeAll(async () => {
  await redis.connect();
  db = await createTestDatabase('popularity');
  env = {
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    CACHE_STORE: 'redis',
    API_KEYS: CLIENTS.map((c) => `${c.name}:${c.secret}`).join(','),
  };
  one = await bootTestApp(env);
  two = await bootTestApp(env);
});

afterAll(async () => {
  await one?.close();
  await two?.close();
  await db?.drop();
  for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}:*`, COUNT: 1000 }))
    if (keys.length > 0) await redis.del(keys);
  await redis.close();
});

let n = 0;
async function createProduct(api: TestApp): Promise<Product> {
  const response = await api.request('/v1/products', {
    method: 'POST',
    headers: { 'x-api-key': WRITER },
    json: { sku: `POP-${PREFIX}-${++n}`, name: `Popular ${n}`, priceCents: 100, currency: 'EUR' },
  });
  expect(response.status).toBe(201);
  return (await response.json()) as Product;
}

async function read(api: TestApp, id: string, headers: Record<string, string> = {}) {
  const response = await api.request(`/v1/products/${id}`, { headers });
  await response.text();
  return { status: response.status, cacheStatus: response.headers.get('cache-status') ?? '' };
}

async function popular(api: TestApp, query = 'window=1h'): Promise<Popular> {
  const response = await api.request(`/v1/products/popular?${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Popular;
}

async function stats(api: TestApp, id: string): Promise<Stats> {
  const response = await api.request(`/v1/products/${id}/stats`);
  expect(response.status).toBe(200);
  return (await response.json()) as Stats;
}

/** HyperLogLog is an estimate: within 2 % (and at least one) of the truth. */
function expectAbout(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.max(1, expected * 0.02));
}

/** The Redis key of the current hour's view counts (docs/popularity.md). */
const countsKey = () => `${PREFIX}:counters:{product-views}:${Math.floor(Date.now() / HOUR)}`;

describe('popularity over two instances sharing Redis', () => {
  let a: Product;
  let b: Product;
  let c: Product;

  it('counts every 200 and 304, fast-path hits included, and both routes agree from either instance', async () => {
    [a, b, c] = [await createProduct(one), await createProduct(one), await createProduct(one)];
    const outcomes: Array<{ status: number; cacheStatus: string }> = [];
    // a: every client once (50 views, 50 viewers); b: clients 0-19 twice, the second time
    // conditionally (40 views, 20 viewers, 20 answers 304); c: clients 0-9 once and one client
    // without a key, counted by its IP (11 views, 11 viewers). Spread over both instances.
    for (const [i, client] of CLIENTS.entries()) {
      const api = i % 2 === 0 ? one : two;
      const other = i % 2 === 0 ? two : one;
      const key = { 'x-api-key': client.secret };
      outcomes.push(await read(api, a.id, key));
      if (i < 20) {
        outcomes.push(await read(other, b.id, key));
        outcomes.push(await read(api, b.id, { ...key, 'if-none-match': `"${b.version}"` }));
      }
      if (i < 10) outcomes.push(await read(api, c.id, key));
    }
    outcomes.push(await read(two, c.id));
    expect(outcomes.filter((o) => o.status === 304)).toHaveLength(20);
    expect(outcomes.every((o) => o.status === 200 || o.status === 304)).toBe(true);
    // Most reads were cache hits, answered by the fast path before Nest's pipeline.
    expect(outcomes.filter((o) => o.cacheStatus.includes('hit')).length).toBeGreaterThan(100);

    const expected = [
      { id: a.id, views: 50, viewers: 50 },
      { id: b.id, views: 40, viewers: 20 },
      { id: c.id, views: 11, viewers: 11 },
    ];
    // Eventually consistent (flush each second): poll with a deadline, never assert a time.
    for (const api of [one, two]) {
      await eventually(async () => {
        for (const window of ['1h', '24h', '7d']) {
          const page = await popular(api, `window=${window}&limit=10`);
          expect(page.window).toBe(window);
          expect(page.items.map((item) => [item.product.id, item.views])).toEqual(expected.map((e) => [e.id, e.views]));
        }
      }, 15_000);
      for (const e of expected) {
        const s = await stats(api, e.id);
        expect(s.id).toBe(e.id);
        expect(s.views).toEqual({ '1h': e.views, '24h': e.views, '7d': e.views });
        for (const window of ['1h', '24h', '7d'] as const) expectAbout(s.uniqueViewers[window], e.viewers);
      }
    }
    // The popular items are products as GET /v1/products/{id} returns them.
    const [first] = (await popular(one, 'window=24h&limit=1')).items;
    expect(first!.product.id).toBe(a.id);
    expect(first!.product.name).toMatch(/^Popular /);
    // Redis holds the counts under the documented key, with a TTL just past the longest window.
    expect(await redis.zScore(countsKey(), a.id)).toBe(50);
    expect(await redis.pTTL(countsKey())).toBeGreaterThan(168 * HOUR);
    expect(await redis.pTTL(countsKey())).toBeLessThanOrEqual(169 * HOUR + 60_000);
  });

  it('breaks ties newest product first and honours limit', async () => {
    const older = await createProduct(one);
    const newer = await createProduct(one);
    for (const product of [older, newer]) {
      for (const client of CLIENTS.slice(0, 45)) await read(one, product.id, { 'x-api-key': client.secret });
    }
    await eventually(async () => {
      const page = await popular(two, 'window=1h&limit=3');
      expect(page.items.map((item) => [item.product.id, item.views])).toEqual([
        [a.id, 50],
        [newer.id, 45],
        [older.id, 45],
      ]);
    }, 15_000);
  });

  it('drops a deleted product from popular at once, answers its stats 404, and forgets its views', async () => {
    const deleted = await two.request(`/v1/products/${c.id}`, { method: 'DELETE', headers: { 'x-api-key': WRITER } });
    expect(deleted.status).toBe(204);
    // At once, from either instance: popular reads products through the cache, where the delete left a tombstone.
    for (const api of [one, two]) {
      const page = await popular(api, 'window=7d&limit=100');
      expect(page.items.map((item) => item.product.id)).not.toContain(c.id);
      expect(page.items.map((item) => item.product.id)).toContain(a.id);
      const response = await api.request(`/v1/products/${c.id}/stats`);
      expect(response.status).toBe(404);
      await problemOf(response);
    }
    // product.deleted removes it from the buckets themselves (a background job).
    await eventually(async () => expect(await redis.zScore(countsKey(), c.id)).toBeNull(), 15_000);
    expect(await redis.zScore(countsKey(), a.id)).toBe(50);
  });

  it('a graceful stop flushes what the instance had not sent yet', async () => {
    // Flushes are a minute apart on this instance: only its shutdown can send these views.
    const third = await bootTestApp({ ...env, COUNTERS_FLUSH_INTERVAL_MS: '60000' });
    try {
      for (const client of CLIENTS.slice(0, 5))
        expect((await read(third, b.id, { 'x-api-key': client.secret })).status).toBe(200);
      expect((await stats(one, b.id)).views['1h']).toBe(40);
    } finally {
      await third.close();
    }
    // Read at once: no waiting, the stop itself sent them.
    expect((await stats(one, b.id)).views).toEqual({ '1h': 45, '24h': 45, '7d': 45 });
    expect(await redis.zScore(countsKey(), b.id)).toBe(45);
  });
});

describe('popularity bad input', () => {
  it.each([
    ['window=2h', 'window'],
    ['window=', 'window'],
    ['window=24H', 'window'],
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=ten', 'limit'],
  ])('GET /v1/products/popular?%s → 400 naming %s', async (query, field) => {
    const response = await one.request(`/v1/products/popular?${query}`);
    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.errors?.map((e) => e.field)).toContain(field);
  });

  it('answers the defaults (24h, 10) and refuses unknown parameters', async () => {
    const page = await popular(one, '');
    expect(page.window).toBe('24h');
    expect(page.items.length).toBeLessThanOrEqual(10);
    const unknown = await one.request('/v1/products/popular?windows=1h');
    expect(unknown.status).toBe(400);
    await problemOf(unknown);
  });

  it('refuses a non-UUID id (400) and answers an unknown product 404', async () => {
    const bad = await one.request('/v1/products/not-a-uuid/stats');
    expect(bad.status).toBe(400);
    expect((await problemOf(bad)).errors?.[0]?.field).toBe('id');
    const unknown = await one.request(`/v1/products/${randomUUID()}/stats`);
    expect(unknown.status).toBe(404);
    await problemOf(unknown);
  });
});

describe('popularity without Redis, rate limited like every /v1 route', () => {
  let solo: TestApp;
  let soloDb: TestDatabase;

  beforeAll(async () => {
    soloDb = await createTestDatabase('popularity_memory');
    solo = await bootTestApp({
      DATABASE_URL: soloDb.url,
      REDIS_URL: undefined,
      CACHE_STORE: 'memory',
      API_KEYS: undefined,
      COUNTERS_FLUSH_INTERVAL_MS: '100',
      THROTTLE_LIMIT: '40',
      THROTTLE_TTL_SECONDS: '60',
    });
  });

  afterAll(async () => {
    await solo?.close();
    await soloDb?.drop();
  });

  it('counts in process memory, then limits both routes (429 problem+json)', async () => {
    const created = await solo.request('/v1/products', {
      method: 'POST',
      json: { sku: `MEM-${PREFIX}`, name: 'In memory', priceCents: 1, currency: 'EUR' },
    });
    const product = (await created.json()) as Product;
    for (let i = 0; i < 3; i += 1) expect((await read(solo, product.id)).status).toBe(200);
    await eventually(async () => {
      const s = await stats(solo, product.id);
      expect(s.views).toEqual({ '1h': 3, '24h': 3, '7d': 3 });
      expect(s.uniqueViewers).toEqual({ '1h': 1, '24h': 1, '7d': 1 });
    }, 15_000);
    expect((await popular(solo)).items.map((item) => [item.product.id, item.views])).toEqual([[product.id, 3]]);
    // Spend the rest of the limit, then both routes answer 429.
    let status = 200;
    for (let i = 0; i < 60 && status !== 429; i += 1) status = (await solo.request('/v1/products/popular')).status;
    expect(status).toBe(429);
    for (const path of ['/v1/products/popular', `/v1/products/${product.id}/stats`]) {
      const limited = await solo.request(path);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
      await problemOf(limited);
    }
  });
});
