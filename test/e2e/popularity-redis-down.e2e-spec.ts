import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { CpuBurner } from '../support/cpu-burner.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { RedisServer } from '../support/redis-server.js';

// The counters' Redis is this suite's own redis-server, stopped mid-test and started again
// (empty: it persists nothing, like the shared one). Shipped defaults (1 s flushes, the cache's
// breaker), and the cores saturated from the outage until the held views have arrived.
let server: RedisServer;
let db: TestDatabase;
let api: TestApp;
let burner: CpuBurner | undefined;

beforeAll(async () => {
  server = await RedisServer.start();
  db = await createTestDatabase('popularity_redis_down');
  api = await bootTestApp({
    DATABASE_URL: db.url,
    REDIS_URL: server.url,
    REDIS_KEY_PREFIX: 't-popularity-down',
    CACHE_STORE: 'redis',
    // Only the counters and the cache meet the outage.
    QUEUE_DRIVER: 'memory',
    API_KEYS: undefined,
  });
});

afterAll(async () => {
  await burner?.stop();
  await api?.close();
  await db?.drop();
  await server?.stop();
});

async function views(id: string): Promise<Response> {
  return api.request(`/v1/products/${id}/stats`);
}

describe('popularity when its Redis goes down', () => {
  it('keeps serving and counting reads, answers the popularity routes 503, and sends the held views once Redis is back', async () => {
    const created = await api.request('/v1/products', {
      method: 'POST',
      json: { sku: 'POP-DOWN-1', name: 'Outage', priceCents: 5, currency: 'EUR' },
    });
    expect(created.status).toBe(201);
    const product = (await created.json()) as { id: string };
    for (let i = 0; i < 3; i++) expect((await api.request(`/v1/products/${product.id}`)).status).toBe(200);
    await eventually(async () => {
      const response = await views(product.id);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { views: { '1h': number } }).views['1h']).toBe(3);
    }, 15_000);

    burner = CpuBurner.start();
    await server.stop();
    // Reads do not depend on the counters: every one is answered, and counted in memory.
    for (let i = 0; i < 5; i++) {
      const read = await api.request(`/v1/products/${product.id}`);
      expect(read.status).toBe(200);
      await read.text();
    }
    for (const path of [`/v1/products/${product.id}/stats`, '/v1/products/popular?window=1h']) {
      const response = await api.request(path);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await problemOf(response)).status).toBe(503);
    }

    // Back, empty: the 3 views it held are gone with it; the 5 counted during the outage were
    // kept by the failed flushes and arrive now.
    await server.resume();
    await eventually(async () => {
      const response = await views(product.id);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { views: Record<string, number>; uniqueViewers: Record<string, number> };
      expect(body.views).toEqual({ '1h': 5, '24h': 5, '7d': 5 });
      expect(body.uniqueViewers).toEqual({ '1h': 1, '24h': 1, '7d': 1 });
    }, 30_000);
    await burner.stop();
    const popular = await api.request('/v1/products/popular?window=1h');
    expect(popular.status).toBe(200);
    const page = (await popular.json()) as { items: Array<{ product: { id: string }; views: number }> };
    expect(page.items.map((item) => [item.product.id, item.views])).toEqual([[product.id, 5]]);
  });
});
