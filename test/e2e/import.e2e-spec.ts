import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { deleteKeys } from '../support/redis-keys.js';
import { TEST_REDIS_URL } from '../support/services.js';

interface JobBody {
  id: string;
  name: string;
  state: string;
  progress: number;
  attempts: number;
  result: {
    created: number;
    failed: Array<{ index: number; errors: Array<{ field: string; message: string }> }>;
  } | null;
  failedReason: string | null;
}

const run = randomUUID().slice(0, 8);
const product = (n: number) => ({ sku: `IMP-${run}-${n}`, name: `  Imported ${n}  `, priceCents: n, currency: 'EUR' });

/** 1000 valid items with 10 invalid ones spread among them (index → why it is invalid). */
function importBody(): { items: unknown[]; invalid: Map<number, string> } {
  const items: unknown[] = Array.from({ length: 1000 }, (_, n) => product(n));
  const invalid = new Map<number, string>();
  const bad: Array<[unknown, string]> = [
    [{ ...product(9001), priceCents: -1 }, 'priceCents'],
    [{ ...product(9002), currency: 'eur' }, 'currency'],
    [{ ...product(9003), sku: 'has space' }, 'sku'],
    [{ ...product(9004), name: '   ' }, 'name'],
    [{ ...product(9005), id: randomUUID() }, 'id'],
    [{ ...product(9006), colour: 'red' }, 'colour'],
    [{ ...product(9007), stock: '5' }, 'stock'],
    [{ ...product(9008), name: 'nul\u0000byte' }, 'name'],
    ['not an object', 'item'],
    [{ ...product(17), sku: product(17).sku.toLowerCase() }, 'sku'], // duplicates item 17, case-insensitively
  ];
  bad.forEach(([item, field], k) => {
    const index = 50 + k * 101;
    items.splice(index, 0, item);
    invalid.set(index, field);
  });
  return { items, invalid };
}

for (const driver of ['bullmq', 'memory'] as const) {
  describe(`POST /v1/products/import (${driver} queue)`, () => {
    let db: TestDatabase;
    let api: TestApp;
    const prefix = `t-import-${driver}-${run}`;

    beforeAll(async () => {
      db = await createTestDatabase(`import_${driver}`);
      api = await bootTestApp({
        DATABASE_URL: db.url,
        REDIS_URL: driver === 'bullmq' ? TEST_REDIS_URL : undefined,
        REDIS_KEY_PREFIX: prefix,
        QUEUE_DRIVER: driver,
        API_KEYS: undefined,
        WEBHOOK_URLS: undefined,
        IMPORT_BATCH_SIZE: '100',
      });
    });

    afterAll(async () => {
      await api?.close();
      await db?.drop();
      await deleteKeys(prefix);
    });

    const job = async (location: string): Promise<JobBody> => {
      const response = await api.request(location);
      expect(response.status).toBe(200);
      return (await response.json()) as JobBody;
    };

    it('imports 1000 valid items, lists the 10 invalid ones by index, and reports progress 100', async () => {
      const { items, invalid } = importBody();
      const response = await api.request('/v1/products/import', { method: 'POST', json: { items } });
      expect(response.status).toBe(202);
      const { jobId } = (await response.json()) as { jobId: string };
      expect(response.headers.get('location')).toBe(`/v1/jobs/${jobId}`);

      const done = await eventually(async () => {
        const body = await job(`/v1/jobs/${jobId}`);
        expect(body.state).toBe('completed');
        return body;
      }, 60_000);
      expect(Object.keys(done).sort()).toEqual([
        'attempts',
        'failedReason',
        'id',
        'name',
        'progress',
        'result',
        'state',
      ]);
      expect(done).toMatchObject({ id: jobId, name: 'import-products', progress: 100, failedReason: null });
      expect(done.result?.created).toBe(1000);
      expect(done.result?.failed.map((f) => f.index)).toEqual([...invalid.keys()]);
      for (const failure of done.result!.failed) {
        expect(failure.errors.length).toBeGreaterThan(0);
        expect(failure.errors.map((e) => e.field)).toContain(invalid.get(failure.index));
        for (const error of failure.errors)
          expect(error).toEqual({ field: expect.any(String), message: expect.any(String) });
      }

      // Same rules as POST /v1/products: each invalid object item gets exactly the errors POST gives it.
      for (const failure of done.result!.failed) {
        const item = items[failure.index];
        if (typeof item !== 'object' || failure.errors.some((e) => e.message.startsWith('duplicates'))) continue;
        const posted = await api.request('/v1/products', { method: 'POST', json: item });
        expect(posted.status).toBe(400);
        expect((await problemOf(posted)).errors).toEqual(failure.errors);
      }

      // The valid ones exist, trimmed like POST /v1/products trims them, each with its product.created event.
      const count = (
        await db.query<{ count: string }>(`SELECT count(*) FROM products WHERE sku LIKE $1`, [`IMP-${run}-%`])
      )[0]!.count;
      expect(Number(count)).toBe(1000);
      const name = (await db.query<{ name: string }>(`SELECT name FROM products WHERE sku = $1`, [product(3).sku]))[0]!
        .name;
      expect(name).toBe('Imported 3');
      const events = (
        await db.query<{ events: string }>(
          `SELECT count(*) AS events FROM outbox_events WHERE type = 'product.created'`,
        )
      )[0]!.events;
      expect(Number(events)).toBe(1000);
    });

    it('reports an item whose sku already exists as failed, and still creates the rest', async () => {
      const taken = await api.request('/v1/products', { method: 'POST', json: product(5000) });
      expect(taken.status).toBe(201);
      const response = await api.request('/v1/products/import', {
        method: 'POST',
        json: { items: [product(5001), { ...product(5000), sku: product(5000).sku.toUpperCase() }, product(5002)] },
      });
      const { jobId } = (await response.json()) as { jobId: string };
      const done = await eventually(async () => {
        const body = await job(`/v1/jobs/${jobId}`);
        expect(body.state).toBe('completed');
        return body;
      });
      expect(done.result).toEqual({
        created: 2,
        failed: [{ index: 1, errors: [{ field: 'sku', message: 'is already taken' }] }],
      });
    });

    it('refuses a body that is not 1 to 10 000 items with 400 problem+json', async () => {
      for (const body of [
        {},
        { items: [] },
        { items: 'x' },
        { items: Array.from({ length: 10_001 }, () => ({})) },
        { items: [product(1)], extra: 1 },
      ]) {
        const response = await api.request('/v1/products/import', { method: 'POST', json: body });
        expect(response.status).toBe(400);
        await problemOf(response);
      }
    });

    it('GET /v1/jobs/{id}: 404 for an unknown id, 400 for one that is not a UUID', async () => {
      const unknown = await api.request(`/v1/jobs/${randomUUID()}`);
      expect(unknown.status).toBe(404);
      await problemOf(unknown);
      const malformed = await api.request('/v1/jobs/not-a-uuid');
      expect(malformed.status).toBe(400);
      await problemOf(malformed);
    });
  });
}

describe('GET /v1/jobs/{id}: what it shows, and to whom', () => {
  let db: TestDatabase;
  let api: TestApp;
  const prefix = `t-import-jobs-${run}`;
  const owner = { authorization: `Bearer owner-${run}-secret` };
  const other = { authorization: `Bearer other-${run}-secret` };

  beforeAll(async () => {
    db = await createTestDatabase('import_jobs');
    api = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      QUEUE_DRIVER: 'bullmq',
      API_KEYS: `owner:owner-${run}-secret,other:other-${run}-secret`,
      WEBHOOK_URLS: undefined,
    });
  });

  afterAll(async () => {
    await api?.close();
    await db?.drop();
    await deleteKeys(prefix);
  });

  it('shows an import only to the API key that started it (404 to anyone else)', async () => {
    const response = await api.request('/v1/products/import', {
      method: 'POST',
      headers: owner,
      json: { items: [product(7001)] },
    });
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };
    const done = await eventually(async () => {
      const seen = await api.request(`/v1/jobs/${jobId}`, { headers: owner });
      expect(seen.status).toBe(200);
      const body = (await seen.json()) as JobBody;
      expect(body.state).toBe('completed');
      return body;
    });
    expect(done.result).toEqual({ created: 1, failed: [] });
    for (const headers of [{}, other]) {
      const hidden = await api.request(`/v1/jobs/${jobId}`, { headers });
      expect(hidden.status).toBe(404);
      await problemOf(hidden);
    }
  });

  it('never shows internal jobs: the dispatch job of an event (job id = event id) is a 404', async () => {
    const created = await api.request('/v1/products', { method: 'POST', headers: owner, json: product(7002) });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const [event] = await db.query<{ id: string; dispatched: boolean }>(
      `SELECT id, dispatched_at IS NOT NULL AS dispatched FROM outbox_events WHERE aggregate_id = $1`,
      [id],
    );
    // Once dispatched, the queue holds a job under the event id; the route still says 404.
    await eventually(async () => {
      const [row] = await db.query<{ dispatched: boolean }>(
        `SELECT dispatched_at IS NOT NULL AS dispatched FROM outbox_events WHERE id = $1`,
        [event!.id],
      );
      expect(row?.dispatched).toBe(true);
    });
    for (const headers of [{}, owner]) {
      const hidden = await api.request(`/v1/jobs/${event!.id}`, { headers });
      expect(hidden.status).toBe(404);
      await problemOf(hidden);
    }
  });
});
