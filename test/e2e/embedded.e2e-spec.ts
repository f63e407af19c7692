import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnitOfWork } from '../../src/infra/outbox/unit-of-work.js';
import { bootTestApp, type TestApp } from '../support/app.js';

// No DATABASE_URL and no REDIS_URL: the service runs on embedded PGlite, as `npm start` does on a bare machine.
let dataDir: string;
let api: TestApp;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pglite-'));
  api = await bootTestApp({ DATABASE_URL: undefined, REDIS_URL: undefined, API_KEYS: undefined, DATA_DIR: dataDir });
});

afterAll(async () => {
  await api?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('embedded PostgreSQL (PGlite)', () => {
  it('serves the products round trip', async () => {
    const created = await api.request('/v1/products', {
      method: 'POST',
      json: { sku: 'EMB-1', name: 'Embedded', priceCents: 10, currency: 'EUR' },
    });
    expect(created.status).toBe(201);
    const product = (await created.json()) as { id: string };
    const patched = await api.request(`/v1/products/${product.id}`, {
      method: 'PATCH',
      json: { stock: 2 },
      headers: { 'if-match': '"1"' },
    });
    expect(patched.status).toBe(200);
    expect(await (await api.request(`/v1/products/${product.id}`)).json()).toMatchObject({ stock: 2, version: 2 });
    expect(
      (
        await api.request('/v1/products', {
          method: 'POST',
          json: { sku: 'emb-1', name: 'Dup', priceCents: 1, currency: 'EUR' },
        })
      ).status,
    ).toBe(409);
    const list = (await (await api.request('/v1/products')).json()) as { items: unknown[] };
    expect(list.items).toHaveLength(1);
    expect((await api.request(`/v1/products/${product.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api.request(`/v1/products/${product.id}`)).status).toBe(404);
    expect((await api.request('/health/ready')).status).toBe(200);
  });

  it('keeps one transaction committed when a concurrent one rolls back', async () => {
    const unitOfWork = api.app.get(UnitOfWork);
    const insert = (sku: string) => (tx: { manager: { query(sql: string, params: unknown[]): Promise<unknown> } }) =>
      tx.manager.query(`INSERT INTO products (sku, name, price_cents, currency) VALUES ($1, 'tx', 1, 'EUR')`, [sku]);
    const committed = unitOfWork.run(async (tx) => {
      await insert('TX-COMMIT')(tx);
      await new Promise((resolve) => setTimeout(resolve, 50));
    });
    const rolledBack = unitOfWork.run(async (tx) => {
      await insert('TX-ROLLBACK')(tx);
      throw new Error('roll back');
    });
    await expect(rolledBack).rejects.toThrow('roll back');
    await committed;
    const skus = (
      (await (await api.request('/v1/products?limit=100')).json()) as { items: Array<{ sku: string }> }
    ).items.map((p) => p.sku);
    expect(skus).toContain('TX-COMMIT');
    expect(skus).not.toContain('TX-ROLLBACK');
  });

  it('keeps its data across a restart (persisted in DATA_DIR)', async () => {
    await api.request('/v1/users', { method: 'POST', json: { email: 'persist@example.com', name: 'P' } });
    await api.close();
    api = await bootTestApp({ DATABASE_URL: undefined, REDIS_URL: undefined, API_KEYS: undefined, DATA_DIR: dataDir });
    const users = (await (await api.request('/v1/users')).json()) as { items: Array<{ email: string }> };
    expect(users.items.map((u) => u.email)).toContain('persist@example.com');
  });
});
