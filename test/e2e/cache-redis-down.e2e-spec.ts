import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheService } from '../../src/infra/cache/cache.service.js';
import type { StoreStatus } from '../../src/infra/cache/cache.store.js';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { RedisServer } from '../support/redis-server.js';

// The cache's Redis is this suite's own redis-server, killed mid-test and started again.
let server: RedisServer;
let db: TestDatabase;
let api: TestApp;
let cache: CacheService;

beforeAll(async () => {
  server = await RedisServer.start();
  db = await createTestDatabase('cache_redis_down');
  api = await bootTestApp({
    DATABASE_URL: db.url,
    REDIS_URL: server.url,
    REDIS_KEY_PREFIX: 't-cache-down',
    CACHE_STORE: 'redis',
    CACHE_BREAKER_HALF_OPEN_MS: '500',
    // The queue is not what this suite is about: keep it in-process so only the cache meets the outage.
    QUEUE_DRIVER: 'memory',
    API_KEYS: undefined,
  });
  cache = api.app.get(CacheService);
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
  await server?.stop();
});

const status = () => cache.status() as StoreStatus;

describe('when the cache Redis goes down', () => {
  it('keeps answering 200 from the database, stops calling Redis (breaker), and hits again after it returns', async () => {
    const created = await api.request('/v1/products', {
      method: 'POST',
      json: { sku: 'DOWN-1', name: 'Outage', priceCents: 5, currency: 'EUR' },
    });
    const product = (await created.json()) as { id: string; version: number };
    const hit = await api.request(`/v1/products/${product.id}`);
    expect(hit.headers.get('cache-status')).toMatch(/^app; hit/);

    await server.stop();
    const before = status();
    for (let i = 0; i < 40; i++) {
      const response = await api.request(`/v1/products/${product.id}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-status')).toBe('app; fwd=miss');
      expect(await response.json()).toEqual(product);
      const list = await api.request('/v1/products');
      expect(list.status).toBe(200);
    }
    // A write during the outage is acknowledged; its write-through fails quietly (and is replayed later).
    const patched = await api.request(`/v1/products/${product.id}`, {
      method: 'PATCH',
      json: { name: 'Written during the outage' },
    });
    expect(patched.status).toBe(200);

    const during = status();
    expect(during.breaker).toBe('open');
    // 81 cache lookups: after the first few failures the breaker refused them without touching Redis.
    expect(during.shortCircuited - before.shortCircuited).toBeGreaterThanOrEqual(60);
    expect(during.failures - before.failures).toBeLessThanOrEqual(10);
    const metrics = await (await api.request('/metrics')).text();
    expect(metrics).toMatch(/cache_requests_total\{cache="product",result="error"\} [1-9]/);

    await server.resume();
    await eventually(async () => {
      const response = await api.request(`/v1/products/${product.id}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-status')).toMatch(/^app; hit/);
      expect(await response.json()).toMatchObject({ name: 'Written during the outage', version: 2 });
    }, 15_000);
    expect(status().breaker).toBe('closed');
  });
});
