import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const SECRET = 'ci-secret-0123456789abcdef';
let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase('auth');
  api = await bootTestApp({
    DATABASE_URL: db.url,
    REDIS_URL: undefined,
    API_KEYS: `ci:${SECRET},other:another-secret-fedcba9876`,
  });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

const product = { sku: 'AUTH-1', name: 'Auth', priceCents: 1, currency: 'EUR' };

describe('API keys on writes', () => {
  it('refuses a write without a key with 401 problem+json and a challenge', async () => {
    const response = await api.request('/v1/products', { method: 'POST', json: product });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await problemOf(response)).detail).toMatch(/needs an API key/);
  });

  it('refuses a keyless write whose path spells /v1 another way (the router matches it all the same)', async () => {
    for (const path of ['/%761/products', '/v%31/products', '/%76%31/products']) {
      const response = await api.request(path, { method: 'POST', json: { ...product, sku: 'AUTH-ESCAPED' } });
      expect(response.status, path).toBe(401);
      await problemOf(response);
    }
    expect((await api.request('/v1/products?limit=100')).status).toBe(200);
    const skus = (
      (await (await api.request('/v1/products?limit=100')).json()) as { items: Array<{ sku: string }> }
    ).items.map((p) => p.sku);
    expect(skus).not.toContain('AUTH-ESCAPED');
  });

  it('refuses a wrong key, or a right key in the wrong scheme', async () => {
    const attempts: Array<Record<string, string>> = [
      { authorization: 'Bearer wrong-secret-wrong-secret' },
      { authorization: `Basic ${SECRET}` },
      { authorization: `Bearer ${SECRET}x` },
      { 'x-api-key': SECRET.slice(0, -1) },
    ];
    for (const headers of attempts) {
      const response = await api.request('/v1/products', { method: 'POST', json: product, headers });
      expect(response.status, JSON.stringify(headers)).toBe(401);
      await problemOf(response);
    }
  });

  it('accepts a valid key as a Bearer token or as X-API-Key, for POST, PATCH and DELETE', async () => {
    const created = await api.request('/v1/products', {
      method: 'POST',
      json: product,
      headers: { authorization: `Bearer ${SECRET}` },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect((await api.request(`/v1/products/${id}`, { method: 'PATCH', json: { stock: 1 } })).status).toBe(401);
    expect(
      (
        await api.request(`/v1/products/${id}`, {
          method: 'PATCH',
          json: { stock: 1 },
          headers: { 'x-api-key': 'another-secret-fedcba9876' },
        })
      ).status,
    ).toBe(200);
    expect((await api.request(`/v1/products/${id}`, { method: 'DELETE' })).status).toBe(401);
    expect(
      (await api.request(`/v1/products/${id}`, { method: 'DELETE', headers: { authorization: `bearer ${SECRET}` } }))
        .status,
    ).toBe(204);
  });

  it('keeps reads public', async () => {
    expect((await api.request('/v1/products')).status).toBe(200);
    expect((await api.request('/v1/users')).status).toBe(200);
    expect((await api.request('/health/live')).status).toBe(200);
  });

  it('checks the key before validating the body (no oracle for anonymous callers)', async () => {
    const response = await api.request('/v1/users', {
      method: 'POST',
      body: '{bad json',
      headers: { 'content-type': 'application/json' },
    });
    expect([400, 401]).toContain(response.status);
    const invalid = await api.request('/v1/users', { method: 'POST', json: { email: 'nope' } });
    expect(invalid.status).toBe(401);
  });
});
