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
  productId = (
    (await (await api.request('/v1/products', { method: 'POST', json: validProduct() })).json()) as { id: string }
  ).id;
  userId = (
    (await (
      await api.request('/v1/users', { method: 'POST', json: { email: `bad-${randomUUID()}@example.com`, name: 'U' } })
    ).json()) as { id: string }
  ).id;
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
  body?: string | Buffer;
  headers?: Record<string, string>;
  status: number;
  /** What `detail` must say, when the status alone does not show which rule answered. */
  detail?: RegExp;
}

const json = { 'content-type': 'application/json' };
const product = (patch: Record<string, unknown>): string => JSON.stringify({ ...validProduct(), ...patch });
const user = (patch: Record<string, unknown>): string =>
  JSON.stringify({ email: `x-${randomUUID()}@example.com`, name: 'N', ...patch });
const post = (label: string, body: string | Buffer, status = 400, path = '/v1/products'): BadRequest => ({
  label,
  method: 'POST',
  path: () => path,
  body,
  headers: json,
  status,
});
const get = (label: string, path: () => string, status: number, detail?: RegExp): BadRequest => ({
  label,
  method: 'GET',
  path,
  status,
  detail,
});
/** A valid product but for one byte sequence that is not UTF-8 inside its name. */
const invalidUtf8 = (bytes: number[]): Buffer =>
  Buffer.concat([
    Buffer.from(product({ name: 'AB' })).subarray(0, -1),
    Buffer.from(',"description":"x'),
    Buffer.from(bytes),
    Buffer.from('y"}'),
  ]);
const nested = (levels: number): string => `{"name":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
const PROTOTYPE_MEMBERS = [
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupSetter__',
  'constructor',
  'prototype',
  '__proto__',
];
const ITEM = '00000000-0000-4000-8000-000000000000';

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
  post(
    'constructor.prototype key',
    `{"sku":"P2","name":"n","priceCents":1,"currency":"EUR","constructor":{"prototype":{"admin":true}}}`,
  ),
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
  {
    label: '2 MiB body',
    method: 'POST',
    path: () => '/v1/products',
    body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
    headers: json,
    status: 413,
  },
  {
    label: 'text/plain body',
    method: 'POST',
    path: () => '/v1/products',
    body: 'hello',
    headers: { 'content-type': 'text/plain' },
    status: 415,
  },
  {
    label: 'form body',
    method: 'POST',
    path: () => '/v1/products',
    body: 'a=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
  },
  {
    label: 'xml body',
    method: 'POST',
    path: () => '/v1/users',
    body: '<user/>',
    headers: { 'content-type': 'application/xml' },
    status: 415,
  },
  // encodings the contract names: not UTF-8 → 400, another charset or a Content-Encoding → 415
  { ...post('invalid UTF-8 (0xFF)', invalidUtf8([0xff])), detail: /not valid UTF-8/ },
  { ...post('invalid UTF-8 (overlong NUL)', invalidUtf8([0xc0, 0x80])), detail: /not valid UTF-8/ },
  { ...post('invalid UTF-8 (lone surrogate)', invalidUtf8([0xed, 0xa0, 0x80])), detail: /not valid UTF-8/ },
  { ...post('invalid UTF-8 (truncated sequence)', invalidUtf8([0xe2, 0x82])), detail: /not valid UTF-8/ },
  {
    label: 'charset=utf-16',
    method: 'POST',
    path: () => '/v1/products',
    body: product({}),
    headers: { 'content-type': 'application/json; charset=utf-16' },
    status: 415,
  },
  {
    label: 'charset=latin1',
    method: 'POST',
    path: () => '/v1/products',
    body: product({}),
    headers: { 'content-type': 'application/json; charset=latin1' },
    status: 415,
  },
  {
    label: 'charset="ISO-8859-1"',
    method: 'POST',
    path: () => '/v1/users',
    body: user({}),
    headers: { 'content-type': 'application/json; charset="ISO-8859-1"' },
    status: 415,
  },
  {
    label: 'gzip body',
    method: 'POST',
    path: () => '/v1/products',
    body: product({}),
    headers: { ...json, 'content-encoding': 'gzip' },
    status: 415,
    detail: /Content-Encoding/,
  },
  {
    label: 'br body',
    method: 'PATCH',
    path: () => `/v1/products/${productId}`,
    body: '{}',
    headers: { ...json, 'content-encoding': 'br' },
    status: 415,
  },
  // nesting: at most 32 levels
  { ...post('nested 33 levels', nested(33)), detail: /nests deeper than 32 levels/ },
  { ...post('nested 5 000 levels', nested(5000)), detail: /nests deeper than 32 levels/ },
  // Object.prototype member names are not properties of any DTO
  ...PROTOTYPE_MEMBERS.map((name) =>
    post(`body property ${name}`, `{"sku":"PR1","name":"n","priceCents":1,"currency":"EUR","${name}":1}`),
  ),
  ...PROTOTYPE_MEMBERS.map((name) =>
    get(`list query ${name}`, () => `/v1/products?${name}=1`, 400, /Unknown query parameter/),
  ),
  // query parameters: unknown ones are 400 on every route, repeated ones too
  get('repeated limit', () => '/v1/products?limit=1&limit=2', 400, /repeated/),
  get('repeated cursor (users)', () => '/v1/users?cursor=a&cursor=b', 400, /repeated/),
  get('cache-buster on a list', () => '/v1/products?_=123', 400, /Unknown query parameter/),
  get('unknown query on a product', () => `/v1/products/${productId}?fields=name`, 400, /takes no query parameters/),
  get('unknown query on a user', () => `/v1/users/${userId}?x=1`, 400, /takes no query parameters/),
  get('unknown query on a job', () => `/v1/jobs/${ITEM}?x=1`, 400, /takes no query parameters/),
  get('unknown query on health', () => '/health/live?verbose=1', 400, /takes no query parameters/),
  {
    label: 'unknown query on a DELETE',
    method: 'DELETE',
    path: () => `/v1/products/${ITEM}?force=true`,
    status: 400,
    detail: /takes no query parameters/,
  },
  // cursors PostgreSQL could not hold
  get(
    'cursor dated -271821',
    () =>
      `/v1/products?cursor=${Buffer.from(JSON.stringify(['-271821-04-20T00:00:00.000Z', ITEM])).toString('base64url')}`,
    400,
    /cursor/,
  ),
  get(
    'cursor dated +275760',
    () =>
      `/v1/users?cursor=${Buffer.from(JSON.stringify(['+275760-09-13T00:00:00.000Z', ITEM])).toString('base64url')}`,
    400,
    /cursor/,
  ),
  // the router's own refusals
  get('bad percent-encoding in the path', () => '/v1/products/%E0%A4%A', 400, /not a valid URL/),
  get('path segment over 100 characters', () => `/v1/products/${'a'.repeat(101)}`, 414),
  // users
  post('user email as number', user({ email: 7 }), 400, '/v1/users'),
  post('user unknown key', user({ role: 'admin' }), 400, '/v1/users'),
  post('user empty name', user({ name: '' }), 400, '/v1/users'),
  // PATCH
  {
    label: 'PATCH wrong type',
    method: 'PATCH',
    path: () => `/v1/products/${productId}`,
    body: JSON.stringify({ priceCents: 'free' }),
    headers: json,
    status: 400,
  },
  {
    label: 'PATCH read-only id',
    method: 'PATCH',
    path: () => `/v1/products/${productId}`,
    body: JSON.stringify({ id: randomUUID() }),
    headers: json,
    status: 400,
  },
  {
    label: 'PATCH user version',
    method: 'PATCH',
    path: () => `/v1/users/${userId}`,
    body: JSON.stringify({ version: 9 }),
    headers: json,
    status: 400,
  },
  {
    label: 'PATCH malformed JSON',
    method: 'PATCH',
    path: () => `/v1/users/${userId}`,
    body: '{name:',
    headers: json,
    status: 400,
  },
  {
    label: 'PATCH non-UUID id',
    method: 'PATCH',
    path: () => '/v1/products/123',
    body: '{}',
    headers: json,
    status: 400,
  },
  {
    label: 'PATCH garbage If-Match',
    method: 'PATCH',
    path: () => `/v1/products/${productId}`,
    body: '{"stock":1}',
    headers: { ...json, 'if-match': 'garbage' },
    status: 412,
  },
  // ids, cursors, queries
  { label: 'GET non-UUID id', method: 'GET', path: () => '/v1/products/abc', status: 400 },
  { label: 'GET SQL-ish id', method: 'GET', path: () => "/v1/users/1'%20OR%20'1'='1", status: 400 },
  { label: 'GET almost-UUID', method: 'GET', path: () => `/v1/products/${randomUUID().slice(0, 35)}g`, status: 400 },
  { label: 'DELETE non-UUID', method: 'DELETE', path: () => '/v1/users/zzz', status: 400 },
  { label: 'bad cursor (garbage)', method: 'GET', path: () => '/v1/products?cursor=!!!', status: 400 },
  {
    label: 'bad cursor (valid base64, wrong content)',
    method: 'GET',
    path: () => `/v1/products?cursor=${Buffer.from('{"a":1}').toString('base64url')}`,
    status: 400,
  },
  {
    label: 'bad cursor (wrong id)',
    method: 'GET',
    path: () => `/v1/users?cursor=${Buffer.from('["2020-01-01T00:00:00.000Z","nope"]').toString('base64url')}`,
    status: 400,
  },
  { label: 'limit huge', method: 'GET', path: () => '/v1/products?limit=99999999999', status: 400 },
  { label: 'active invalid', method: 'GET', path: () => '/v1/products?active=1', status: 400 },
  // routing
  { label: 'unknown route', method: 'GET', path: () => '/v1/nothing-here', status: 404 },
  { label: 'unversioned resource', method: 'GET', path: () => '/products', status: 404 },
  get('trailing slash on a list', () => '/v1/products/', 404),
  get('missing docs asset', () => '/docs/x.js', 404),
  { label: 'HEAD with a trailing slash', method: 'HEAD', path: () => '/v1/users/', status: 404 },
  { label: 'PUT on a list', method: 'PUT', path: () => '/v1/products', body: '{}', headers: json, status: 405 },
];

describe('bad input never gets a 5xx', () => {
  it(`answers each of ${corpus.length} malformed requests with the expected 4xx problem+json`, async () => {
    expect(corpus.length).toBeGreaterThanOrEqual(50);
    const failures: string[] = [];
    for (const request of corpus) {
      const response = await api.request(request.path(), {
        method: request.method,
        body: request.body,
        headers: request.headers,
      });
      if (response.status !== request.status) {
        failures.push(`${request.label}: ${response.status} (expected ${request.status}) ${await response.text()}`);
        continue;
      }
      const missing = [
        'x-request-id',
        'x-content-type-options',
        'content-security-policy',
        'strict-transport-security',
      ].filter((name) => !response.headers.has(name));
      if (missing.length > 0) failures.push(`${request.label}: no ${missing.join(', ')}`);
      if (request.method === 'HEAD') {
        if (!response.headers.get('content-type')?.startsWith('application/problem+json'))
          failures.push(`${request.label}: ${response.headers.get('content-type')}`);
        continue;
      }
      const problem = await problemOf(response).catch((error: Error) => error);
      if (problem instanceof Error) failures.push(`${request.label}: ${problem.message}`);
      else if (request.detail && !request.detail.test(problem.detail))
        failures.push(`${request.label}: detail "${problem.detail}"`);
    }
    expect(failures).toEqual([]);
  });

  it('says a __proto__ key is not allowed (it is valid JSON)', async () => {
    const response = await api.request('/v1/products', {
      method: 'POST',
      body: '{"sku":"P1","name":"n","priceCents":1,"currency":"EUR","__proto__":{"admin":true}}',
      headers: json,
    });
    const problem = await problemOf(response);
    expect(problem.detail).toBe('The property "__proto__" is not allowed');
    expect(problem.errors).toEqual([{ field: '__proto__', message: 'is not an allowed property name' }]);
  });

  it('answers an encoded body with 415 and Accept-Encoding: identity', async () => {
    const response = await api.request('/v1/products', {
      method: 'POST',
      body: product({}),
      headers: { ...json, 'content-encoding': 'gzip' },
    });
    expect(response.status).toBe(415);
    expect(response.headers.get('accept-encoding')).toBe('identity');
  });

  it('accepts 32 levels of nesting and an explicit charset=UTF-8', async () => {
    const deep = await api.request('/v1/products', { method: 'POST', body: nested(32), headers: json });
    expect((await problemOf(deep)).detail).not.toMatch(/nests/);
    const response = await api.request('/v1/products', {
      method: 'POST',
      body: product({ sku: 'CHARSET-OK' }),
      headers: { 'content-type': 'application/json; charset="UTF-8"' },
    });
    expect(response.status).toBe(201);
    await db.query('DELETE FROM products WHERE sku = $1', ['CHARSET-OK']);
  });

  it('rejects an unknown query parameter on a cached item route before the cache answers', async () => {
    expect((await api.request(`/v1/products/${productId}`)).status).toBe(200);
    expect((await api.request(`/v1/products/${productId}`)).headers.get('cache-status')).toMatch(/hit/);
    const response = await api.request(`/v1/products/${productId}?toString=1`);
    expect(response.status).toBe(400);
    expect((await problemOf(response)).errors).toEqual([
      { field: 'toString', message: 'is not a known query parameter' },
    ]);
  });

  it('answers 405 with an Allow header that leaves the method out', async () => {
    const response = await api.request('/v1/products', { method: 'PUT', body: '{}', headers: json });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')?.split(', ')).toEqual(['GET', 'HEAD', 'POST']);
  });

  it('names the offending fields in errors[]', async () => {
    const response = await api.request('/v1/products', {
      method: 'POST',
      json: { sku: '', name: 3, priceCents: -1, currency: 'x', extra: true },
    });
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

describe('with CORS on', () => {
  let cors: TestApp;
  const origin = 'https://app.example';

  beforeAll(async () => {
    cors = await bootTestApp({ DATABASE_URL: db.url, REDIS_URL: undefined, API_KEYS: undefined, CORS_ORIGINS: origin });
  });

  afterAll(async () => {
    await cors?.close();
  });

  it('answers an OPTIONS that is no preflight (no Access-Control-Request-Method) with an empty 204, not a text/plain 400', async () => {
    for (const headers of [{ origin }, {}] as Array<Record<string, string>>) {
      const response = await cors.request('/v1/products', { method: 'OPTIONS', headers });
      expect(response.status).toBe(204);
      expect(await response.text()).toBe('');
    }
    const preflight = await cors.request('/v1/products', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'PATCH' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PATCH');
    // Answered by the CORS plugin's hook, yet with the headers every answer carries.
    expect(preflight.headers.get('x-request-id')).toBeTruthy();
    expect(preflight.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('keeps a trailing slash a 404 although the CORS catch-all OPTIONS route matches every path', async () => {
    const response = await cors.request('/v1/products/');
    expect(response.status).toBe(404);
    await problemOf(response);
    const put = await cors.request('/v1/products', { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, OPTIONS, POST');
  });
});
