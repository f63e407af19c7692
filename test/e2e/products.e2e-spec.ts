import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { spec as productSpec } from '../support/resources/products.js';

// What products add to the shared contract (resources.e2e-spec.ts).
let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase('products');
  api = await bootTestApp({ DATABASE_URL: db.url, REDIS_URL: undefined, API_KEYS: undefined });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

type Json = Record<string, unknown>;

async function create(n: number): Promise<Json> {
  const response = await api.request('/v1/products', { method: 'POST', json: productSpec.valid(n, {}) });
  expect(response.status).toBe(201);
  return (await response.json()) as Json;
}

describe('products: resource-specific rules', () => {
  it('trims the name, keeps the description exactly, defaults stock, active and description', async () => {
    const description = ' spaced  \t text with émoji 🎉 and "quotes" ';
    const response = await api.request('/v1/products', {
      method: 'POST',
      json: {
        sku: `trim-${randomUUID().slice(0, 8)}`,
        name: '  Padded  ',
        priceCents: 0,
        currency: 'JPY',
        description,
      },
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Json;
    expect(body).toMatchObject({ name: 'Padded', description, stock: 0, active: true, priceCents: 0 });
    const noDescription = await create(500);
    expect(noDescription.description).toBeNull();
  });

  it('clears a description with null, but refuses null for non-nullable fields', async () => {
    const created = await create(501);
    const url = `/v1/products/${created.id as string}`;
    expect((await api.request(url, { method: 'PATCH', json: { description: 'x' } })).status).toBe(200);
    const cleared = await api.request(url, { method: 'PATCH', json: { description: null } });
    expect(((await cleared.json()) as Json).description).toBeNull();
    for (const field of ['name', 'sku', 'priceCents', 'currency', 'stock', 'active']) {
      const response = await api.request(url, { method: 'PATCH', json: { [field]: null } });
      expect(response.status, field).toBe(400);
    }
  });

  it('filters the list by active', async () => {
    const inactive = (await (
      await api.request('/v1/products', { method: 'POST', json: { ...productSpec.valid(502, {}), active: false } })
    ).json()) as Json;
    const active = (await (await api.request('/v1/products?active=true&limit=100')).json()) as { items: Json[] };
    const onlyInactive = (await (await api.request('/v1/products?active=false&limit=100')).json()) as { items: Json[] };
    expect(active.items.every((p) => p.active === true)).toBe(true);
    expect(onlyInactive.items.map((p) => p.id)).toContain(inactive.id);
    expect(onlyInactive.items.every((p) => p.active === false)).toBe(true);
    expect((await api.request('/v1/products?active=yes')).status).toBe(400);
  });
});
