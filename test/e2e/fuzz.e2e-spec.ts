import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let api: TestApp;
let productId: string;
let userId: string;

beforeAll(async () => {
  db = await createTestDatabase('fuzz');
  api = await bootTestApp({ DATABASE_URL: db.url, REDIS_URL: undefined, API_KEYS: undefined });
  productId = (
    (await (
      await api.request('/v1/products', {
        method: 'POST',
        json: { sku: 'FUZZ-BASE', name: 'Base', priceCents: 1, currency: 'EUR' },
      })
    ).json()) as { id: string }
  ).id;
  userId = (
    (await (
      await api.request('/v1/users', { method: 'POST', json: { email: 'fuzz-base@example.com', name: 'Base' } })
    ).json()) as { id: string }
  ).id;
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

/** Any JSON value, weighted towards objects whose keys look like the real fields. */
const fieldNames = [
  'sku',
  'name',
  'description',
  'priceCents',
  'currency',
  'stock',
  'active',
  'email',
  'id',
  'version',
  '__proto__',
  'constructor',
];
const anyValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(-1, 0, 1_000_000_000, 1_000_000_001, 2 ** 31, 'EUR', 'eur', '', ' ', '\u0000', 'a'.repeat(2001)),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);
const fuzzBody = fc.oneof(
  fc.dictionary(fc.constantFrom(...fieldNames), anyValue, { maxKeys: 8 }),
  fc.json().map((text) => JSON.parse(text) as unknown),
  fc.anything(),
);

const validProduct = fc.record({
  sku: fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/),
  name: fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 200 })
    .filter((s) => s.trim().length > 0 && !s.includes('\u0000')),
  description: fc.option(
    fc.string({ unit: 'grapheme', maxLength: 2000 }).filter((s) => !s.includes('\u0000')),
    { nil: null },
  ),
  priceCents: fc.integer({ min: 0, max: 1_000_000_000 }),
  currency: fc.constantFrom('EUR', 'USD', 'JPY', 'GBP', 'CHF'),
  stock: fc.integer({ min: 0, max: 2_147_483_647 }),
  active: fc.boolean(),
});

async function send(method: string, path: string, body: unknown): Promise<Response> {
  let text: string;
  try {
    text = JSON.stringify(body) ?? 'null';
  } catch {
    text = '{}'; // BigInt and the like: not JSON, nothing a client could send
  }
  return api.request(path, { method, body: text, headers: { 'content-type': 'application/json' } });
}

async function expectNo5xx(response: Response): Promise<void> {
  expect(response.status).toBeLessThan(500);
  if (response.status >= 400) await problemOf(response);
  else await response.arrayBuffer();
}

describe('property-based fuzzing of write bodies', () => {
  it('never answers POST /v1/products or /v1/users with a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzBody, fc.constantFrom('/v1/products', '/v1/users'), async (body, path) => {
        await expectNo5xx(await send('POST', path, body));
      }),
      { numRuns: 300 },
    );
  });

  it('never answers PATCH with a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzBody, fc.boolean(), async (body, products) => {
        await expectNo5xx(await send('PATCH', products ? `/v1/products/${productId}` : `/v1/users/${userId}`, body));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips every valid product exactly (create, then read)', async () => {
    await fc.assert(
      fc.asyncProperty(validProduct, async (input) => {
        const body = { ...input, sku: `${input.sku}-${randomUUID().slice(0, 8)}` };
        const created = await send('POST', '/v1/products', body);
        expect(created.status).toBe(201);
        const product = (await created.json()) as Record<string, unknown>;
        const read = (await (await api.request(`/v1/products/${product.id as string}`)).json()) as Record<
          string,
          unknown
        >;
        expect(read).toEqual(product);
        expect(read).toMatchObject({ ...body, name: body.name.trim() });
      }),
      { numRuns: 150 },
    );
  });

  it('round-trips every valid partial update', async () => {
    const partial = validProduct.chain((full) =>
      fc
        .subarray(Object.keys(full))
        .map((keys) => Object.fromEntries(keys.map((k) => [k, full[k as keyof typeof full]]))),
    );
    await fc.assert(
      fc.asyncProperty(partial, async (changes) => {
        if ('sku' in changes) changes.sku = `${changes.sku as string}-${randomUUID().slice(0, 8)}`;
        const response = await send('PATCH', `/v1/products/${productId}`, changes);
        expect(response.status).toBe(200);
        const product = (await response.json()) as Record<string, unknown>;
        const expected = 'name' in changes ? { ...changes, name: (changes.name as string).trim() } : changes;
        expect(product).toMatchObject(expected);
      }),
      { numRuns: 150 },
    );
  });
});
