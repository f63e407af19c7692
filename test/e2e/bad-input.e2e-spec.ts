import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let api: TestApp;
let productId: string;
let userId: string;

beforeAll(async () => {
  db = await createTestDatabase('bad_input');
  api = await bootTestApp({ DATABASE_URL: db.url, REDIS_URL: undefined, API_KEYS: undefined });
  productId = ((await (await api.request('/v1/products', { method: 'POST', json: validProduct() })).json()) as { id: string }).id;
  userId = ((await (await api.request('/v1/users', { method: 'POST', json: { email: `bad-${randomUUID()}@example.com`, name: 'U' } })).json()) as { id: string }).id;
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

function validProduct(): Record<string, unknown> {
  return { sku: `BAD-${randomUUID().slice(0, 12)}`, name: 'Valid', priceCents: 1, currency: 'EUR' };
}

interface BadRequest {
  label: string;
  method: string;
  path: () => string;
  body?: string;
  headers?: Record<string, string>;
  status: number;
}

const json = { 'content-type': 'application/json' };
const product = (patch: Record<string, unknown>): string => JSON.stringify({ ...validProduct(), ...patch });
const user = (patch: Record<string, unknown>): string => JSON.stringify({ email: `x-${randomUUID()}@example.com`, name: 'N', ...patch });
const post = (label: string, body: string, status = 400, path = '/v1/products'): BadRequest => ({ label, method: 'POST', path: () => path, body, headers: json, status });

const corpus: BadRequest[] = [
  // wrong types
  post('sku as number', product({ sku: 12 })),
  post('name as array', product({ name: ['a'] })),
  post('name as object', product({ name: { a: 1 } })),
  post('price as string', product({ priceCents: '100' })),
  post('price as float', product({ priceCents: 1.5 })),
  post('price as bool', product({ priceCents: true })),
  post('price NaN-ish', product({ priceCents: 'NaN' })),
  post('stock as string', product({ stock: '3' })),
  post('active as string', product({ active: 'true' })),
  post('active as number', product({ active: 1 })),
  post('currency as number', product({ currency: 978 })),
  post('description as number', product({ description: 5 })),
  // out of range
  post('negative price', product({ priceCents: -1 })),
  post('price too large', product({ priceCents: 1_000_000_001 })),
  post('price 1e300', '{"sku":"A1","name":"n","priceCents":1e300,"currency":"EUR"}'),
  post('negative stock', product({ stock: -5 })),
  post('stock over int32', product({ stock: 2 ** 31 })),
  post('empty sku', product({ sku: '' })),
  post('sku too long', product({ sku: 'a'.repeat(65) })),
  post('sku bad chars', product({ sku: 'a b/c' })),
  post('sku unicode', product({ sku: 'ñandú' })),
  post('empty name', product({ name: '' })),
  post('blank name (trimmed)', product({ name: '    ' })),
  post('name too long', product({ name: 'x'.repeat(201) })),
  post('description too long', product({ description: 'd'.repeat(2001) })),
  post('lower-case currency', product({ currency: 'eur' })),
  post('unknown currency', product({ currency: 'ZZZ' })),
  post('4-letter currency', product({ currency: 'EURO' })),
  // missing required fields
  post('missing sku', JSON.stringify({ name: 'n', priceCents: 1, currency: 'EUR' })),
  post('missing price', JSON.stringify({ sku: 'A2', name: 'n', currency: 'EUR' })),
  post('null name', product({ name: null })),
  // unknown, read-only and prototype keys
  post('unknown key', product({ colour: 'red' })),
  post('read-only id', product({ id: randomUUID() })),
  post('read-only version', product({ version: 5 })),
  post('read-only createdAt', product({ createdAt: new Date().toISOString() })),
  post('__proto__ key', `{"sku":"P1","name":"n","priceCents":1,"currency":"EUR","__proto__":{"admin":true}}`),
  post('constructor.prototype key', `{"sku":"P2","name":"n","priceCents":1,"currency":"EUR","constructor":{"prototype":{"admin":true}}}`),
  // NUL bytes
  post('NUL in name', product({ name: 'a\u0000b' })),
  post('NUL in description', product({ description: '\u0000' })),
  post('NUL in user name', user({ name: 'x\u0000' }), 400, '/v1/users'),
  // not an object / malformed
  post('body is an array', '[1,2,3]'),
  post('body is a string', '"hello"'),
  post('body is a number', '42'),
  post('body is null', 'null'),
  post('malformed JSON', '{"sku": "A",'),
  post('truncated JSON', '{'),
  post('empty body with JSON type', ''),
  post('BOM-prefixed garbage', '\ufeff{oops}'),
  { label: '2 MiB body', method: 'POST', path: () => '/v1/products', body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }), headers: json, status: 413 },
  { label: 'text/plain body', method: 'POST', path: () => '/v1/products', body: 'hello', headers: { 'content-type': 'text/plain' }, status: 415 },
  { label: 'form body', method: 'POST', path: () => '/v1/products', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 },
  { label: 'xml body', method: 'POST', path: () => '/v1/users', body: '<user/>', headers: { 'content-type': 'application/xml' }, status: 415 },
  // users
  post('user email as number', user({ email: 7 }), 400, '/v1/users'),
  post('user unknown key', user({ role: 'admin' }), 400, '/v1/users'),
  post('user empty name', user({ name: '' }), 400, '/v1/users'),
  // PATCH
  { label: 'PATCH wrong type', method: 'PATCH', path: () => `/v1/products/${productId}`, body: JSON.stringify({ priceCents: 'free' }), headers: json, status: 400 },
  { label: 'PATCH read-only id', method: 'PATCH', path: () => `/v1/products/${productId}`, body: JSON.stringify({ id: randomUUID() }), headers: json, status: 400 },
  { label: 'PATCH user version', method: 'PATCH', path: () => `/v1/users/${userId}`, body: JSON.stringify({ version: 9 }), headers: json, status: 400 },
  { label: 'PATCH malformed JSON', method: 'PATCH', path: () => `/v1/users/${userId}`, body: '{name:', headers: json, status: 400 },
  { label: 'PATCH non-UUID id', method: 'PATCH', path: () => '/v1/products/123', body: '{}', headers: json, status: 400 },
  { label: 'PATCH garbage If-Match', method: 'PATCH', path: () => `/v1/products/${productId}`, body: '{"stock":1}', headers: { ...json, 'if-match': 'garbage' }, status: 412 },
  // ids, cursors, queries
  { label: 'GET non-UUID id', method: 'GET', path: () => '/v1/products/abc', status: 400 },
  { label: 'GET SQL-ish id', method: 'GET', path: () => "/v1/users/1'%20OR%20'1'='1", status: 400 },
  { label: 'GET almost-UUID', method: 'GET', path: () => `/v1/products/${randomUUID().slice(0, 35)}g`, status: 400 },
  { label: 'DELETE non-UUID', method: 'DELETE', path: () => '/v1/users/zzz', status: 400 },
  { label: 'bad cursor (garbage)', method: 'GET', path: () => '/v1/products?cursor=!!!', status: 400 },
  { label: 'bad cursor (valid base64, wrong content)', method: 'GET', path: () => `/v1/products?cursor=${Buffer.from('{"a":1}').toString('base64url')}`, status: 400 },
  { label: 'bad cursor (wrong id)', method: 'GET', path: () => `/v1/users?cursor=${Buffer.from('["2020-01-01T00:00:00.000Z","nope"]').toString('base64url')}`, status: 400 },
  { label: 'limit huge', method: 'GET', path: () => '/v1/products?limit=99999999999', status: 400 },
  { label: 'active invalid', method: 'GET', path: () => '/v1/products?active=1', status: 400 },
  // routing
  { label: 'unknown route', method: 'GET', path: () => '/v1/nothing-here', status: 404 },
  { label: 'unversioned resource', method: 'GET', path: () => '/products', status: 404 },
];

describe('bad input never gets a 5xx', () => {
  it(`answers each of ${corpus.length} malformed requests with the expected 4xx problem+json`, async () => {
    expect(corpus.length).toBeGreaterThanOrEqual(50);
    const failures: string[] = [];
    for (const request of corpus) {
      const response = await api.request(request.path(), { method: request.method, body: request.body, headers: request.headers });
      if (response.status !== request.status) failures.push(`${request.label}: ${response.status} (expected ${request.status}) ${await response.text()}`);
      else await problemOf(response);
    }
    expect(failures).toEqual([]);
  });

  it('names the offending fields in errors[]', async () => {
    const response = await api.request('/v1/products', { method: 'POST', json: { sku: '', name: 3, priceCents: -1, currency: 'x', extra: true } });
    const problem = await problemOf(response);
    expect(problem.errors?.map((e) => e.field).sort()).toEqual(['currency', 'extra', 'name', 'priceCents', 'sku']);
  });

  it('leaks no stack trace, SQL or driver message', async () => {
    const response = await api.request('/v1/products', { method: 'POST', body: '{"sku":', headers: json });
    const text = await response.text();
    expect(text).not.toMatch(/at .*\.js|SELECT|INSERT|QueryFailed|syntax error at|node_modules/i);
  });

  it('keeps the process alive and the data intact afterwards', async () => {
    expect((await api.request('/health/live')).status).toBe(200);
    const rows = await db.query<{ count: string }>('SELECT count(*)::text AS count FROM products');
    expect(rows[0]!.count).toBe('1');
    expect((await api.request(`/v1/products/${productId}`)).status).toBe(200);
  });
});
