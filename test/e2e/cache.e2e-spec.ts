import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheService } from '../../src/infra/cache/cache.service.js';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TEST_REDIS_URL } from '../support/services.js';

const PREFIX = `t-cache-${randomUUID().slice(0, 8)}`;
let n = 0;
const newProduct = () => ({ sku: `C-${PREFIX}-${++n}`, name: `Cached ${n}`, priceCents: 100 + n, currency: 'EUR' });

let db: TestDatabase;
let api: TestApp;
let cache: CacheService;
const redis = createClient({ url: TEST_REDIS_URL });

beforeAll(async () => {
  await redis.connect();
  db = await createTestDatabase('cache');
  api = await bootTestApp({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    CACHE_STORE: 'redis',
    API_KEYS: undefined,
  });
  cache = api.app.get(CacheService);
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
  for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}:*`, COUNT: 1000 }))
    if (keys.length > 0) await redis.del(keys);
  await redis.close();
});

async function create(
  path = '/v1/products',
  body: Record<string, unknown> = newProduct(),
): Promise<{ id: string; version: number; name: string }> {
  const response = await api.request(path, { method: 'POST', json: body });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; version: number; name: string };
}

describe('cache-aside on GET /v1/products/:id', () => {
  it('misses once, then hits with the same body, ETag and Cache-Status', async () => {
    const product = await create();
    await cache.delete(`product:${product.id}`); // created entries are written through; start cold

    const miss = await api.request(`/v1/products/${product.id}`);
    expect(miss.status).toBe(200);
    expect(miss.headers.get('cache-status')).toBe('app; fwd=miss; stored');
    expect(miss.headers.get('etag')).toBe('"1"');
    expect(miss.headers.get('content-type')).toMatch(/^application\/json/);
    const missBody = await miss.text();

    const hit = await api.request(`/v1/products/${product.id}`);
    expect(hit.status).toBe(200);
    expect(hit.headers.get('cache-status')).toMatch(/^app; hit; ttl=\d+$/);
    expect(hit.headers.get('etag')).toBe('"1"');
    expect(await hit.text()).toBe(missBody);
    expect(JSON.parse(missBody)).toEqual(product);
  });

  it('answers If-None-Match with 304 on a hit, and 200 when the tag is stale', async () => {
    const product = await create();
    const notModified = await api.request(`/v1/products/${product.id}`, { headers: { 'if-none-match': '"1"' } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('etag')).toBe('"1"');
    expect(notModified.headers.get('cache-status')).toMatch(/^app; hit/);
    expect(await notModified.text()).toBe('');

    const weak = await api.request(`/v1/products/${product.id}`, { headers: { 'if-none-match': 'W/"0", W/"1"' } });
    expect(weak.status).toBe(304);
    const stale = await api.request(`/v1/products/${product.id}`, { headers: { 'if-none-match': '"0"' } });
    expect(stale.status).toBe(200);
  });

  it('answers 304 on a miss too', async () => {
    const product = await create();
    await cache.delete(`product:${product.id}`);
    const response = await api.request(`/v1/products/${product.id}`, { headers: { 'if-none-match': '"1"' } });
    expect(response.status).toBe(304);
    expect(response.headers.get('cache-status')).toBe('app; fwd=miss; stored');
  });

  it('reads its writes: a PATCH is visible at once, from the cache', async () => {
    const product = await create();
    expect((await api.request(`/v1/products/${product.id}`)).headers.get('cache-status')).toMatch(/hit/);
    const patch = await api.request(`/v1/products/${product.id}`, { method: 'PATCH', json: { priceCents: 777 } });
    expect(patch.status).toBe(200);

    const read = await api.request(`/v1/products/${product.id}`);
    expect(read.headers.get('cache-status')).toMatch(/^app; hit/);
    expect(read.headers.get('etag')).toBe('"2"');
    expect(await read.json()).toMatchObject({ priceCents: 777, version: 2 });
  });

  it('reads its writes: after a DELETE the cache answers 404 (a tombstone)', async () => {
    const product = await create();
    await api.request(`/v1/products/${product.id}`);
    expect((await api.request(`/v1/products/${product.id}`, { method: 'DELETE' })).status).toBe(204);

    const read = await api.request(`/v1/products/${product.id}`);
    expect(read.status).toBe(404);
    expect(read.headers.get('cache-status')).toMatch(/^app; hit/);
    expect(read.headers.get('etag')).toBeNull();
    expect((await problemOf(read)).detail).toBe('Product not found');
  });

  it('caches a 404 briefly (negative caching)', async () => {
    const id = randomUUID();
    const first = await api.request(`/v1/products/${id}`);
    expect(first.status).toBe(404);
    expect(first.headers.get('cache-status')).toBe('app; fwd=miss; stored');
    const second = await api.request(`/v1/products/${id}`);
    expect(second.status).toBe(404);
    expect(second.headers.get('cache-status')).toMatch(/^app; hit/);
    expect(await problemOf(second)).toMatchObject({ detail: 'Product not found', instance: `/v1/products/${id}` });
  });

  it('shares one entry between upper- and lower-case ids, and never caches a 400', async () => {
    const product = await create();
    const upper = await api.request(`/v1/products/${product.id.toUpperCase()}`);
    expect(upper.status).toBe(200);
    expect(upper.headers.get('cache-status')).toMatch(/^app; hit/);
    for (let i = 0; i < 2; i++) {
      const bad = await api.request('/v1/products/not-a-uuid');
      expect(bad.status).toBe(400);
      // Refused by the UUID pipe's rule before the cache: no cache was consulted.
      expect(bad.headers.get('cache-status')).toBeNull();
    }
  });

  it('leaves the cache untouched when the write rolls back (412, 409)', async () => {
    const taken = await create();
    const product = await create();
    const key = `${PREFIX}:cache:product:${product.id}`;
    await api.request(`/v1/products/${product.id}`);
    const before = await redis.get(key);
    expect(before).toContain('"version":1');

    const stale = await api.request(`/v1/products/${product.id}`, {
      method: 'PATCH',
      json: { name: 'x' },
      headers: { 'if-match': '"7"' },
    });
    expect(stale.status).toBe(412);
    const takenSku = ((await (await api.request(`/v1/products/${taken.id}`)).json()) as { sku: string }).sku;
    const conflict = await api.request(`/v1/products/${product.id}`, { method: 'PATCH', json: { sku: takenSku } });
    expect(conflict.status).toBe(409);

    expect(await redis.get(key)).toBe(before);
    const read = await api.request(`/v1/products/${product.id}`);
    expect(read.headers.get('cache-status')).toMatch(/^app; hit/);
    expect(await read.json()).toMatchObject({ version: 1, name: product.name });
  });
});

describe('cache-aside on lists', () => {
  it('hits the second time, and a create invalidates every page', async () => {
    await create();
    const first = await api.request('/v1/products?limit=5');
    expect(first.headers.get('cache-status')).toBe('app; fwd=miss; stored');
    const second = await api.request('/v1/products?limit=5');
    expect(second.headers.get('cache-status')).toMatch(/^app; hit/);
    expect(await second.text()).toBe(await first.text());
    // A page has no one entity version: its ETag is a weak one from the body, the same on the hit.
    expect(second.headers.get('etag')).toMatch(/^W\//);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));

    const created = await create();
    const after = await api.request('/v1/products?limit=5');
    expect(after.headers.get('cache-status')).toBe('app; fwd=miss; stored');
    const page = (await after.json()) as { items: Array<{ id: string }> };
    expect(page.items[0]!.id).toBe(created.id);
  });

  it('keys each query separately and never caches an invalid one', async () => {
    const active = await api.request('/v1/products?active=true&limit=2');
    expect(active.status).toBe(200);
    expect(active.headers.get('cache-status')).toBe('app; fwd=miss; stored');
    const bad = await api.request('/v1/products?limit=1000');
    expect(bad.status).toBe(400);
    expect((await api.request('/v1/products?limit=1000')).status).toBe(400);
  });

  it('invalidates after a PATCH and a DELETE too', async () => {
    const product = await create();
    await api.request('/v1/products?limit=3');
    await api.request(`/v1/products/${product.id}`, { method: 'PATCH', json: { name: 'Renamed in list' } });
    const afterPatch = await api.request('/v1/products?limit=3');
    expect(afterPatch.headers.get('cache-status')).toMatch(/fwd=miss/);
    expect(((await afterPatch.json()) as { items: Array<{ name: string }> }).items[0]!.name).toBe('Renamed in list');

    await api.request(`/v1/products/${product.id}`, { method: 'DELETE' });
    const afterDelete = (await (await api.request('/v1/products?limit=3')).json()) as { items: Array<{ id: string }> };
    expect(afterDelete.items.map((item) => item.id)).not.toContain(product.id);
  });
});

describe('users are cached the same way', () => {
  it('get-by-id and list: write-through, read-your-writes, invalidation', async () => {
    const user = await create('/v1/users', { email: `u-${randomUUID()}@example.com`, name: 'Cached user' });
    const list = await api.request('/v1/users');
    expect(list.headers.get('cache-status')).toBe('app; fwd=miss; stored');
    expect((await api.request('/v1/users')).headers.get('cache-status')).toMatch(/hit/);

    const read = await api.request(`/v1/users/${user.id}`);
    expect(read.headers.get('cache-status')).toMatch(/^app; hit/);
    expect(read.headers.get('etag')).toBe('"1"');
    await api.request(`/v1/users/${user.id}`, { method: 'PATCH', json: { name: 'Renamed' } });
    expect(await (await api.request(`/v1/users/${user.id}`)).json()).toMatchObject({ name: 'Renamed', version: 2 });
    expect((await api.request('/v1/users')).headers.get('cache-status')).toMatch(/fwd=miss/);
    await api.request(`/v1/users/${user.id}`, { method: 'DELETE' });
    expect((await api.request(`/v1/users/${user.id}`)).status).toBe(404);
  });
});

describe('metrics', () => {
  it('counts hits and misses in cache_requests_total', async () => {
    const text = await (await api.request('/metrics')).text();
    expect(text).toMatch(/cache_requests_total\{cache="product",result="hit"\} [1-9]/);
    expect(text).toMatch(/cache_requests_total\{cache="product",result="miss"\} [1-9]/);
  });
});

describe('with other stores', () => {
  it('CACHE_STORE=none: handlers always run, ETag and 304 still work', async () => {
    const off = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: undefined,
      CACHE_STORE: 'none',
      API_KEYS: undefined,
    });
    try {
      const created = (await (await off.request('/v1/products', { method: 'POST', json: newProduct() })).json()) as {
        id: string;
      };
      for (let i = 0; i < 2; i++) {
        const response = await off.request(`/v1/products/${created.id}`);
        expect(response.status).toBe(200);
        expect(response.headers.get('cache-status')).toBe('app; fwd=bypass');
        expect(response.headers.get('etag')).toBe('"1"');
      }
      expect((await off.request(`/v1/products/${created.id}`, { headers: { 'if-none-match': '"1"' } })).status).toBe(
        304,
      );
      const missing = await off.request(`/v1/products/${randomUUID()}`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('cache-status')).toBe('app; fwd=bypass');
      expect((await off.request('/v1/products')).headers.get('cache-status')).toBe('app; fwd=bypass');
    } finally {
      await off.close();
    }
  });

  it('without REDIS_URL: the memory store, with write-through', async () => {
    const local = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: undefined,
      CACHE_STORE: undefined,
      API_KEYS: undefined,
    });
    try {
      expect(local.app.get(CacheService).status().kind).toBe('memory');
      const created = (await (await local.request('/v1/products', { method: 'POST', json: newProduct() })).json()) as {
        id: string;
      };
      expect((await local.request(`/v1/products/${created.id}`)).headers.get('cache-status')).toMatch(/^app; hit/);
      await local.request(`/v1/products/${created.id}`, { method: 'PATCH', json: { stock: 3 } });
      const read = await local.request(`/v1/products/${created.id}`);
      expect(read.headers.get('cache-status')).toMatch(/^app; hit/);
      expect(await read.json()).toMatchObject({ stock: 3, version: 2 });
    } finally {
      await local.close();
    }
  });
});
