import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../src/infra/database/cursor.js';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TEST_REDIS_URL } from '../support/services.js';

// Issue 13 item 1: list entries are keyed by the validated, canonical query, so no spelling of a
// query makes a new entry, and a query the pipes refuse never consults the cache.

const PREFIX = `t-ckeys-${randomUUID().slice(0, 8)}`;
const redis = createClient({ url: TEST_REDIS_URL });
let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  await redis.connect();
  db = await createTestDatabase('cache_keys');
  api = await bootTestApp({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    CACHE_STORE: 'redis',
    API_KEYS: undefined,
  });
  for (let i = 0; i < 3; i++) {
    const created = await api.request('/v1/products', {
      method: 'POST',
      json: { sku: `K-${PREFIX}-${i}`, name: `Keyed ${i}`, priceCents: 100, currency: 'EUR' },
    });
    expect(created.status).toBe(201);
  }
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
  for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}:*`, COUNT: 1000 }))
    if (keys.length > 0) await redis.del(keys);
  await redis.close();
});

async function entryKeys(pattern: string): Promise<string[]> {
  const found: string[] = [];
  for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}:cache:${pattern}`, COUNT: 1000 }))
    found.push(...keys);
  return found.sort();
}

describe('list keys come from the validated query', () => {
  it('stores one entry for every spelling of the default first page', async () => {
    const spellings = [
      '',
      '?',
      '?&&&',
      '?&&&&',
      '?limit=20',
      '?limit=020',
      '?limit=0020',
      '?%6cimit=20',
      '?&limit=20&',
    ];
    const statuses: string[] = [];
    for (const spelling of spellings) {
      const response = await api.request(`/v1/products${spelling}`);
      expect(response.status, spelling).toBe(200);
      statuses.push(response.headers.get('cache-status') ?? '(none)');
    }
    expect(statuses[0]).toBe('app; fwd=miss; stored');
    for (const status of statuses.slice(1)) expect(status).toMatch(/^app; hit/);
    expect(await entryKeys('products:list:*')).toEqual([`${PREFIX}:cache:products:list:limit=20`]);
  });

  it('is independent of parameter order, and of how a cursor spells its id', async () => {
    const first = await api.request('/v1/products?active=true&limit=2');
    expect(first.headers.get('cache-status')).toBe('app; fwd=miss; stored');
    const reordered = await api.request('/v1/products?limit=2&active=true');
    expect(reordered.headers.get('cache-status')).toMatch(/^app; hit/);

    const page = (await first.json()) as { nextCursor: string };
    const [createdAt, id] = JSON.parse(Buffer.from(page.nextCursor, 'base64url').toString()) as [string, string];
    const upper = encodeCursor({ createdAt: new Date(createdAt), id: id.toUpperCase() });
    const next = await api.request(`/v1/products?active=true&limit=2&cursor=${page.nextCursor}`);
    expect(next.headers.get('cache-status')).toBe('app; fwd=miss; stored');
    const sameCursor = await api.request(`/v1/products?cursor=${upper}&limit=02&active=true`);
    expect(sameCursor.status).toBe(200);
    expect(sameCursor.headers.get('cache-status')).toMatch(/^app; hit/);
    expect(await entryKeys('products:list:active=true*')).toHaveLength(2);
  });

  it('answers a query the pipes refuse without consulting the cache: 400, no Cache-Status, no entry', async () => {
    const before = await entryKeys('products:list:*');
    for (const query of [
      '?limit=1000',
      '?limit=2&limit=3',
      '?unknown=1',
      '?cursor=not-a-cursor',
      '?active=yes',
      '?limit=-1',
    ]) {
      const response = await api.request(`/v1/products${query}`);
      expect(response.status, query).toBe(400);
      expect(response.headers.get('cache-status'), query).toBeNull();
      await problemOf(response);
    }
    // Object.prototype member names: refused (400) or, if accepted, the default page's entry.
    for (const query of ['?toString=x', '?valueOf=1', '?hasOwnProperty=y', '?prototype=z']) {
      const response = await api.request(`/v1/products${query}`);
      if (response.status === 200) expect(response.headers.get('cache-status'), query).toMatch(/^app; hit/);
      else expect([response.status, response.headers.get('cache-status')], query).toEqual([400, null]);
    }
    expect(await entryKeys('products:list:*')).toEqual(before);
  });

  it('users: one entry per meaning too', async () => {
    const first = await api.request('/v1/users?limit=7');
    expect(first.headers.get('cache-status')).toBe('app; fwd=miss; stored');
    const same = await api.request('/v1/users?&limit=007&');
    expect(same.headers.get('cache-status')).toMatch(/^app; hit/);
    const bad = await api.request('/v1/users?limit=7&cursor=x');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('cache-status')).toBeNull();
    expect(await entryKeys('users:list:*')).toEqual([`${PREFIX}:cache:users:list:limit=7`]);
  });

  it('never answers a get-by-id from the cache when the request carries query parameters', async () => {
    const created = (await (
      await api.request('/v1/products', {
        method: 'POST',
        json: { sku: `K-${PREFIX}-q`, name: 'Q', priceCents: 1, currency: 'EUR' },
      })
    ).json()) as { id: string };
    const plain = await api.request(`/v1/products/${created.id}`);
    expect(plain.headers.get('cache-status')).toMatch(/^app; hit/);
    const withQuery = await api.request(`/v1/products/${created.id}?toString=1`);
    expect(withQuery.headers.get('cache-status')).toBeNull();
    const malformed = await api.request('/v1/products/not-a-uuid');
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('cache-status')).toBeNull();
  });
});
