import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CacheService } from '../../src/infra/cache/cache.service.js';
import { ProductsRepository } from '../../src/modules/products/products.repository.js';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { TEST_REDIS_URL } from '../support/services.js';

// Two instances of the app on one Postgres and one Redis, as a deployment runs them.
const PREFIX = `t-cache-cons-${randomUUID().slice(0, 8)}`;
let db: TestDatabase;
let one: TestApp;
let two: TestApp;
const redis = createClient({ url: TEST_REDIS_URL });
let n = 0;

beforeAll(async () => {
  await redis.connect();
  db = await createTestDatabase('cache_consistency');
  // A generous lease wait: the stampede assertion (exactly one load) must not depend on this machine's speed.
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    CACHE_STORE: 'redis',
    CACHE_LOCK_WAIT_MS: '2000',
    API_KEYS: undefined,
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

async function createProduct(api: TestApp): Promise<{ id: string; version: number }> {
  const response = await api.request('/v1/products', {
    method: 'POST',
    json: { sku: `S-${PREFIX}-${++n}`, name: `P${n}`, priceCents: 1, currency: 'EUR' },
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; version: number };
}

/** Counts the repository's loads (calls go through to Postgres); optionally delays each after the database answered. */
function instrument(api: TestApp, delayAfterLoad?: () => number): { loads: () => number; restore: () => void } {
  const repository = api.app.get(ProductsRepository);
  const original = repository.findById.bind(repository);
  let loads = 0;
  const spy = vi.spyOn(repository, 'findById').mockImplementation(async (...args) => {
    loads += 1;
    const found = await original(...args);
    if (delayAfterLoad) await sleep(delayAfterLoad());
    return found;
  });
  return { loads: () => loads, restore: () => spy.mockRestore() };
}

describe('stampede on a cold key', () => {
  it('200 concurrent GETs spread over two instances run the loader exactly once', async () => {
    const product = await createProduct(one);
    await one.app.get(CacheService).delete(`product:${product.id}`);
    const counters = [instrument(one), instrument(two)];
    try {
      const responses = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const response = await (i % 2 === 0 ? one : two).request(`/v1/products/${product.id}`);
          return {
            status: response.status,
            cacheStatus: response.headers.get('cache-status'),
            body: await response.text(),
          };
        }),
      );
      expect(responses.every((r) => r.status === 200)).toBe(true);
      expect(new Set(responses.map((r) => r.body)).size).toBe(1);
      expect(counters[0]!.loads() + counters[1]!.loads()).toBe(1);
      expect(responses.filter((r) => r.cacheStatus === 'app; fwd=miss; stored')).toHaveLength(1);
    } finally {
      counters.forEach((c) => c.restore());
    }
  });

  it('the same holds for a list page', async () => {
    await createProduct(one); // a write: every list page is now cold
    const counts = { one: 0, two: 0 };
    const spies = (
      [
        ['one', one],
        ['two', two],
      ] as const
    ).map(([name, api]) => {
      const repository = api.app.get(ProductsRepository);
      const original = repository.page.bind(repository);
      return vi.spyOn(repository, 'page').mockImplementation((...args) => {
        counts[name] += 1;
        return original(...args);
      });
    });
    try {
      const statuses = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => (await (i % 2 ? one : two).request('/v1/products?limit=7')).status),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(counts.one + counts.two).toBe(1);
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
  });
});

describe('stale-set race', () => {
  interface Op {
    kind: 'read' | 'write';
    product: string;
    start: number;
    end: number;
    version: number;
  }

  it('a reader delayed between its load and its set never overwrites a newer write (0 stale reads)', async () => {
    const products = await Promise.all(Array.from({ length: 20 }, () => createProduct(one)));
    // Readers on instance one sleep 0–100 ms after the database answered and before the cache set.
    const slow = instrument(one, () => Math.random() * 100);
    const ops: Op[] = [];
    const clock = () => performance.now();
    const read = async (api: TestApp, id: string): Promise<void> => {
      const start = clock();
      const response = await api.request(`/v1/products/${id}`);
      expect(response.status).toBe(200);
      const { version } = (await response.json()) as { version: number };
      ops.push({ kind: 'read', product: id, start, end: clock(), version });
    };
    const write = async (api: TestApp, id: string): Promise<void> => {
      const start = clock();
      const response = await api.request(`/v1/products/${id}`, {
        method: 'PATCH',
        json: { stock: Math.floor(Math.random() * 1000) },
      });
      expect(response.status).toBe(200);
      const { version } = (await response.json()) as { version: number };
      ops.push({ kind: 'write', product: id, start, end: clock(), version });
      // Read-your-writes, on either instance, right after the acknowledgement.
      await read(Math.random() < 0.5 ? one : two, id);
    };
    try {
      for (let round = 0; round < 10; round++) {
        await Promise.all(
          products.map(async (product) => {
            await one.app.get(CacheService).delete(`product:${product.id}`); // cold: the next read loads
            await Promise.all([
              sleep(Math.random() * 30).then(() => read(one, product.id)),
              sleep(Math.random() * 30).then(() => write(two, product.id)),
              sleep(Math.random() * 60).then(() => read(Math.random() < 0.5 ? one : two, product.id)),
            ]);
          }),
        );
      }
    } finally {
      slow.restore();
    }

    // Versioned register: a read that starts after a write was acknowledged returns at least its version.
    const stale = ops.filter(
      (r) =>
        r.kind === 'read' &&
        ops.some((w) => w.kind === 'write' && w.product === r.product && w.end < r.start && r.version < w.version),
    );
    expect(ops.filter((o) => o.kind === 'write')).toHaveLength(200);
    expect(stale).toEqual([]);

    // And the cache ends with the newest version on both instances.
    for (const product of products) {
      const [row] = await db.query<{ version: number }>('SELECT version FROM products WHERE id = $1', [product.id]);
      for (const api of [one, two]) {
        const response = await api.request(`/v1/products/${product.id}`);
        expect(response.headers.get('cache-status')).toMatch(/^app; hit/);
        expect(((await response.json()) as { version: number }).version).toBe(row!.version);
      }
    }
  });
});

describe('cross-instance read-your-writes', () => {
  it('a write through one instance is read at once through the other', async () => {
    const product = await createProduct(one);
    expect((await two.request(`/v1/products/${product.id}`)).status).toBe(200);
    await one.request(`/v1/products/${product.id}`, { method: 'PATCH', json: { name: 'Seen everywhere' } });
    expect(await (await two.request(`/v1/products/${product.id}`)).json()).toMatchObject({
      name: 'Seen everywhere',
      version: 2,
    });
    await two.request(`/v1/products/${product.id}`, { method: 'DELETE' });
    expect((await one.request(`/v1/products/${product.id}`)).status).toBe(404);
  });
});

describe('with the in-process tier (CACHE_L1_TTL_MS)', () => {
  it('serves from L1 and drops it on every instance when another one writes', async () => {
    const prefix = `${PREFIX}-l1`;
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      CACHE_STORE: 'redis',
      CACHE_L1_TTL_MS: '30000',
      API_KEYS: undefined,
    };
    const a = await bootTestApp(env);
    const b = await bootTestApp(env);
    try {
      expect(a.app.get(CacheService).status().kind).toBe('tiered');
      const product = await createProduct(a);
      for (const api of [a, b])
        expect((await api.request(`/v1/products/${product.id}`)).headers.get('cache-status')).toMatch(/hit/);
      await a.request(`/v1/products/${product.id}`, { method: 'PATCH', json: { name: 'L1 invalidated' } });
      // The writer's own L1 is updated before the acknowledgement; the other's within the pub/sub delay.
      expect(await (await a.request(`/v1/products/${product.id}`)).json()).toMatchObject({ version: 2 });
      await eventually(
        async () => expect(await (await b.request(`/v1/products/${product.id}`)).json()).toMatchObject({ version: 2 }),
        2000,
        5,
      );
    } finally {
      await a.close();
      await b.close();
      for await (const keys of redis.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 }))
        if (keys.length > 0) await redis.del(keys);
    }
  });
});
