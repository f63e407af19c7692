import { randomUUID } from 'node:crypto';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { createClient } from '@redis/client';
import { request as rawRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TEST_REDIS_URL } from '../support/services.js';

const PREFIX = `t-httpcache-${randomUUID().slice(0, 8)}`;
const ADMIN_TOKEN = `admin-${randomUUID()}`;
let n = 0;
const newProduct = (extra: Record<string, unknown> = {}) => ({
  sku: `H-${PREFIX}-${++n}`,
  name: `Product ${n}`,
  priceCents: 100 + n,
  currency: 'EUR',
  ...extra,
});

interface Product {
  id: string;
  version: number;
  name: string;
  stock: number;
}

let db: TestDatabase;
let api: TestApp;
const redis = createClient({ url: TEST_REDIS_URL });

beforeAll(async () => {
  await redis.connect();
  db = await createTestDatabase('httpcache');
  api = await bootTestApp({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    CACHE_STORE: 'redis',
    API_KEYS: undefined,
    ADMIN_TOKEN,
  });
  // 100 products, so that a full page (limit=100) is well above the compression threshold.
  for (let i = 0; i < 100; i++) await create();
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
  for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}:*`, COUNT: 1000 }))
    if (keys.length > 0) await redis.del(keys);
  await redis.close();
});

async function create(extra: Record<string, unknown> = {}): Promise<Product> {
  const response = await api.request('/v1/products', { method: 'POST', json: newProduct(extra) });
  expect(response.status).toBe(201);
  return (await response.json()) as Product;
}

/** undici's `request` neither adds `Accept-Encoding` nor decodes: the bytes as sent. */
async function raw(path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const response = await rawRequest(`${api.baseUrl}${path}`, { method, headers });
  const body = Buffer.from(await response.body.arrayBuffer());
  const header = (name: string) => {
    const value = response.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  return { status: response.statusCode, header, body };
}

function decode(encoding: string | undefined, body: Buffer): string {
  if (encoding === 'br') return brotliDecompressSync(body).toString('utf8');
  if (encoding === 'gzip') return gunzipSync(body).toString('utf8');
  return body.toString('utf8');
}

const varyOf = (value: string | null | undefined) => (value ?? '').toLowerCase().split(/\s*,\s*/);

describe('Cache-Control and Vary', () => {
  it('an entity read is private and revalidated, on a miss, a fast-path hit and a 304 alike', async () => {
    const product = await create();
    const first = await api.request(`/v1/products/${product.id}`);
    const hit = await api.request(`/v1/products/${product.id}`);
    expect(hit.headers.get('cache-status')).toMatch(/^app; hit/);
    const notModified = await api.request(`/v1/products/${product.id}`, { headers: { 'if-none-match': '"1"' } });
    expect(notModified.status).toBe(304);
    for (const response of [first, hit, notModified]) {
      expect(response.headers.get('cache-control')).toBe('private, no-cache');
      expect(response.headers.get('etag')).toBe('"1"');
      // A strongly tagged entity is never compressed, so its answer does not vary by encoding.
      expect(varyOf(response.headers.get('vary'))).not.toContain('accept-encoding');
    }
  });

  it('a list page is private, revalidated and varies by Accept-Encoding, its 304 too', async () => {
    const page = await api.request('/v1/products?limit=5');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('private, no-cache');
    expect(varyOf(page.headers.get('vary'))).toContain('accept-encoding');
    const notModified = await api.request('/v1/products?limit=5', {
      headers: { 'if-none-match': page.headers.get('etag') ?? '' },
    });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('cache-control')).toBe('private, no-cache');
    expect(varyOf(notModified.headers.get('vary'))).toContain('accept-encoding');
  });

  it('errors (400, 404), writes, admin, /metrics and health are no-store', async () => {
    const badId = await api.request('/v1/products/not-a-uuid');
    expect(badId.status).toBe(400);
    await problemOf(badId);
    const missing = await api.request(`/v1/products/${randomUUID()}`);
    expect(missing.status).toBe(404);
    const missingAgain = await api.request(`/v1/products/${randomUUID()}`);
    const unknownRoute = await api.request('/v1/nothing-here');
    const created = await api.request('/v1/products', { method: 'POST', json: newProduct() });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as Product;
    const patched = await api.request(`/v1/products/${id}`, { method: 'PATCH', json: { stock: 3 } });
    expect(patched.status).toBe(200);
    const deleted = await api.request(`/v1/products/${id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    const adminOk = await api.request('/admin/dead-letters', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(adminOk.status).toBe(200);
    const adminRefused = await api.request('/admin/dead-letters');
    expect(adminRefused.status).toBe(401);
    const metrics = await api.request('/metrics');
    expect(metrics.status).toBe(200);
    const live = await api.request('/health/live');
    const ready = await api.request('/health/ready');
    for (const response of [
      badId,
      missing,
      missingAgain,
      unknownRoute,
      created,
      patched,
      deleted,
      adminOk,
      adminRefused,
      metrics,
      live,
      ready,
    ]) {
      expect({ url: response.url, cacheControl: response.headers.get('cache-control') }).toEqual({
        url: response.url,
        cacheControl: 'no-store',
      });
    }
  });

  it('the docs UI files are cacheable; the docs page and document are revalidated', async () => {
    const bundle = await api.request('/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('cache-control')).toBe('public, max-age=3600');
    const document = await api.request('/docs-json');
    expect(document.status).toBe(200);
    expect(document.headers.get('cache-control')).toBe('no-cache');
    const page = await api.request('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
  });

  it('a proxy revalidating with the old ETag after a PATCH gets 200 and the new body', async () => {
    const product = await create();
    const before = await api.request(`/v1/products/${product.id}`);
    await before.text();
    // What a proxy that honours no-cache does: it stores the answer, then revalidates each reuse.
    expect(before.headers.get('cache-control')).toMatch(/(^|, )no-cache($|,)/);
    const oldEtag = before.headers.get('etag') ?? '';
    const patched = await api.request(`/v1/products/${product.id}`, {
      method: 'PATCH',
      json: { name: 'Renamed after write' },
    });
    expect(patched.status).toBe(200);
    const revalidated = await api.request(`/v1/products/${product.id}`, { headers: { 'if-none-match': oldEtag } });
    expect(revalidated.status).toBe(200);
    expect(revalidated.headers.get('etag')).toBe('"2"');
    expect(((await revalidated.json()) as Product).name).toBe('Renamed after write');
  });
});

describe('compression', () => {
  const LIST = '/v1/products?limit=100';

  it('compresses a 100-item list with br or gzip per Accept-Encoding, decoding to the same JSON and ETag', async () => {
    const plain = await raw(LIST);
    expect(plain.status).toBe(200);
    expect(plain.header('content-encoding')).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(10_000);
    expect(Number(plain.header('content-length'))).toBe(plain.body.length);
    expect(varyOf(plain.header('vary'))).toContain('accept-encoding');
    const json = JSON.parse(plain.body.toString('utf8')) as { items: Product[] };
    expect(json.items).toHaveLength(100);

    for (const [acceptEncoding, expected] of [
      ['br', 'br'],
      ['gzip', 'gzip'],
      ['gzip, deflate, br', 'br'],
      ['br;q=0.5, gzip', 'gzip'],
      ['gzip, identity;q=0', 'gzip'],
      ['identity', undefined],
      ['identity;q=0', undefined], // nothing we offer is acceptable: sent as it is (RFC 9110 §12.5.3 allows it)
    ] as const) {
      const response = await raw(LIST, { 'accept-encoding': acceptEncoding });
      expect({ acceptEncoding, status: response.status, encoding: response.header('content-encoding') }).toEqual({
        acceptEncoding,
        status: 200,
        encoding: expected,
      });
      // A small compressed body has its exact length; a large one is streamed (chunked, no length).
      const length = response.header('content-length');
      if (length === undefined) expect(response.header('transfer-encoding')).toBe('chunked');
      else expect(Number(length)).toBe(response.body.length);
      expect(JSON.parse(decode(expected, response.body))).toEqual(json);
      expect(varyOf(response.header('vary'))).toContain('accept-encoding');
      expect(response.header('etag')).toBe(plain.header('etag'));
      if (expected !== undefined) expect(response.body.length).toBeLessThan(plain.body.length / 2);
    }
  });

  it('leaves small bodies and strongly tagged entities uncompressed', async () => {
    const small = await raw('/v1/products?limit=1', { 'accept-encoding': 'br, gzip' });
    expect(small.status).toBe(200);
    expect(small.body.length).toBeLessThan(1024);
    expect(small.header('content-encoding')).toBeUndefined();

    // Over the threshold, but its strong ETag promises these exact bytes.
    const large = await create({ description: 'x'.repeat(2000) });
    const entity = await raw(`/v1/products/${large.id}`, { 'accept-encoding': 'br, gzip' });
    expect(entity.status).toBe(200);
    expect(entity.body.length).toBeGreaterThan(2000);
    expect(entity.header('content-encoding')).toBeUndefined();
    expect(entity.header('etag')).toBe('"1"');
    const hit = await raw(`/v1/products/${large.id}`, { 'accept-encoding': 'br, gzip' });
    expect(hit.header('cache-status')).toMatch(/^app; hit/);
    expect(hit.header('content-encoding')).toBeUndefined();
  });

  it('compresses /metrics, /docs-json and the Swagger UI bundle', async () => {
    for (const path of ['/metrics', '/docs-json', '/docs/swagger-ui-bundle.js']) {
      const plain = await raw(path);
      const gzip = await raw(path, { 'accept-encoding': 'gzip' });
      const br = await raw(path, { 'accept-encoding': 'br' });
      expect({
        path,
        plain: plain.header('content-encoding'),
        gzip: gzip.header('content-encoding'),
        br: br.header('content-encoding'),
      }).toEqual({
        path,
        plain: undefined,
        gzip: 'gzip',
        br: 'br',
      });
      expect(gunzipSync(gzip.body).length).toBeGreaterThan(gzip.body.length);
      expect(brotliDecompressSync(br.body).length).toBeGreaterThan(br.body.length);
      if (path !== '/metrics') expect(decode('br', br.body)).toBe(plain.body.toString('utf8')); // metrics move between scrapes
    }
  });

  it('HEAD and 304 send no body', async () => {
    const get = await raw(LIST, { 'accept-encoding': 'br' });
    const head = await raw(LIST, { 'accept-encoding': 'br' }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.header('etag')).toBe(get.header('etag'));
    const notModified = await raw(LIST, { 'accept-encoding': 'br', 'if-none-match': get.header('etag') ?? '' });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
    expect(notModified.header('content-encoding')).toBeUndefined();
    expect(notModified.header('etag')).toBe(get.header('etag'));
  });
});

describe('conditional requests', () => {
  for (const resource of ['products', 'users'] as const) {
    it(`PATCH /v1/${resource}/:id with If-None-Match: * is 412 and changes nothing`, async () => {
      const body =
        resource === 'products' ? newProduct() : { email: `inm-${++n}-${PREFIX}@example.com`, name: 'Before' };
      const created = await api.request(`/v1/${resource}`, { method: 'POST', json: body });
      expect(created.status).toBe(201);
      const entity = (await created.json()) as Product;
      const events = async () =>
        (
          await db.query<{ count: string }>(`SELECT count(*) FROM outbox_events WHERE aggregate_id = $1`, [entity.id])
        )[0]?.count;
      const eventsBefore = await events();

      const refused = await api.request(`/v1/${resource}/${entity.id}`, {
        method: 'PATCH',
        json: { name: 'After' },
        headers: { 'if-none-match': '*' },
      });
      expect(refused.status).toBe(412);
      expect(refused.headers.get('cache-control')).toBe('no-store');
      await problemOf(refused);
      const emptyPatch = await api.request(`/v1/${resource}/${entity.id}`, {
        method: 'PATCH',
        json: {},
        headers: { 'if-none-match': '*' },
      });
      expect(emptyPatch.status).toBe(412);

      const after = await api.request(`/v1/${resource}/${entity.id}`);
      const current = (await after.json()) as Product;
      expect(current.version).toBe(1);
      expect(current.name).toBe(entity.name);
      const [row] = await db.query<{ version: number; name: string }>(
        `SELECT version, name FROM ${resource} WHERE id = $1`,
        [entity.id],
      );
      expect(row).toEqual({ version: 1, name: entity.name });
      expect(await events()).toBe(eventsBefore);

      const missing = await api.request(`/v1/${resource}/${randomUUID()}`, {
        method: 'PATCH',
        json: { name: 'After' },
        headers: { 'if-none-match': '*' },
      });
      expect(missing.status).toBe(404);
    });
  }

  it('a list page has a weak ETag (the same on a cache hit), 304 on If-None-Match, a new one after a write to an item on it', async () => {
    const path = '/v1/products?limit=10';
    const miss = await api.request(path);
    expect(miss.status).toBe(200);
    const etag = miss.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    const page = (await miss.json()) as { items: Product[] };

    const hit = await api.request(path);
    expect(hit.headers.get('cache-status')).toMatch(/^app; hit/);
    expect(hit.headers.get('etag')).toBe(etag);

    const notModified = await api.request(path, { headers: { 'if-none-match': etag } });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe('');
    expect(notModified.headers.get('etag')).toBe(etag);
    expect(notModified.headers.get('content-type')).toBeNull();

    const item = page.items[4]!;
    const patched = await api.request(`/v1/products/${item.id}`, { method: 'PATCH', json: { stock: item.stock + 1 } });
    expect(patched.status).toBe(200);
    const changed = await api.request(path, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    const changedPage = (await changed.json()) as { items: Product[] };
    expect(changedPage.items.find((p) => p.id === item.id)?.version).toBe(item.version + 1);
  });
});
