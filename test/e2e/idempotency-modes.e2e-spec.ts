import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';

// Idempotency-Key without API keys (one shared scope) and without Redis (the in-process queue),
// on PostgreSQL and on embedded PGlite; and the OpenAPI document declaring it on every write.

const newUser = () => ({ email: `modes-${randomUUID()}@example.com`, name: 'Mode' });
const newProduct = () => ({ sku: `MODE-${randomUUID().slice(0, 12)}`, name: 'Mode', priceCents: 5, currency: 'EUR' });

function withKey(api: TestApp, path: string, key: string, method: string, json?: unknown): Promise<Response> {
  return api.request(path, { method, json, headers: { 'idempotency-key': key } });
}

async function bytes(response: Response): Promise<string> {
  return Buffer.from(await response.arrayBuffer()).toString('hex');
}

/** The rules that hold in every mode. */
function sharedRules(api: () => TestApp) {
  it('replays byte for byte, 422 for another body, and a failure leaves the key free', async () => {
    const key = `k-${randomUUID()}`;
    const user = newUser();
    const first = await withKey(api(), '/v1/users', key, 'POST', user);
    expect(first.status).toBe(201);
    const firstBytes = await bytes(first);
    const again = await withKey(api(), '/v1/users', key, 'POST', user);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(again.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(await bytes(again)).toBe(firstBytes);
    expect((await withKey(api(), '/v1/users', key, 'POST', newUser())).status).toBe(422);

    const fresh = `k-${randomUUID()}`;
    expect((await withKey(api(), '/v1/users', fresh, 'POST', { email: 'bad', name: 'x' })).status).toBe(400);
    expect((await withKey(api(), '/v1/users', fresh, 'POST', newUser())).status).toBe(201);
  });

  it('without API keys every client shares one scope: the replay goes to whoever sends the key', async () => {
    const key = `k-${randomUUID()}`;
    const product = newProduct();
    const first = await withKey(api(), '/v1/products', key, 'POST', product);
    const other = await api().request('/v1/products', {
      method: 'POST',
      json: product,
      headers: { 'idempotency-key': key, 'x-forwarded-for': '203.0.113.9' },
    });
    expect(other.status).toBe(first.status);
    expect(other.headers.get('idempotent-replayed')).toBe('true');
  });

  it('the import: the job runs once its request has committed, and a retry answers the same jobId', async () => {
    const key = `k-${randomUUID()}`;
    const items = [newProduct(), newProduct(), newProduct()];
    const first = await withKey(api(), '/v1/products/import', key, 'POST', { items });
    expect(first.status).toBe(202);
    const { jobId } = (await first.json()) as { jobId: string };
    const again = await withKey(api(), '/v1/products/import', key, 'POST', { items });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { jobId: string }).jobId).toBe(jobId);
    const job = await eventually(async () => {
      const status = (await (await api().request(`/v1/jobs/${jobId}`)).json()) as {
        state: string;
        result?: { created: number };
        failedReason?: string;
      };
      expect(status.state).not.toMatch(/waiting|active|delayed/);
      return status;
    });
    expect(job).toMatchObject({ state: 'completed', result: { created: 3 } });
  });

  it('concurrent requests with one key write once', async () => {
    const key = `k-${randomUUID()}`;
    const user = newUser();
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const response = await withKey(api(), '/v1/users', key, 'POST', user);
        return {
          status: response.status,
          replayed: response.headers.get('idempotent-replayed'),
          text: await response.text(),
        };
      }),
    );
    // Every other answer is the replay or the in-flight 409, never a duplicate-email 409.
    expect(answers.filter((a) => a.status === 201 && a.replayed === null)).toHaveLength(1);
    for (const answer of answers.filter((a) => a.status !== 201 || a.replayed !== null)) {
      expect(answer.status === 201 ? answer.replayed : answer.text).toMatch(/true|Idempotency-Key/);
    }
    const list = (await (await api().request('/v1/users?limit=100')).json()) as { items: Array<{ email: string }> };
    expect(list.items.filter((u) => u.email === user.email)).toHaveLength(1);
  });
}

describe('PostgreSQL, in-process queue, no API keys', () => {
  let db: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase('idempotency_modes');
    api = await bootTestApp({ DATABASE_URL: db.url, REDIS_URL: undefined, API_KEYS: undefined, TRUST_PROXY: '1' });
  });

  afterAll(async () => {
    await api?.close();
    await db?.drop();
  });

  sharedRules(() => api);

  it('stores rows in the shared scope', async () => {
    const rows = await db.query<{ scope: string }>(`SELECT DISTINCT scope FROM idempotency_keys`);
    expect(rows).toEqual([{ scope: '*' }]);
  });

  it('documents Idempotency-Key, 409 and 422 on every POST, PATCH and DELETE under /v1', async () => {
    const document = (await (await api.request('/docs-json')).json()) as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; responses: object }>>;
    };
    const writes = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, operations]) =>
        Object.entries(operations)
          .filter(([method]) => ['post', 'patch', 'delete', 'put'].includes(method))
          .map(([method, operation]) => ({ at: `${method} ${path}`, operation })),
      );
    expect(writes.length).toBeGreaterThanOrEqual(7);
    for (const { at, operation } of writes) {
      expect(
        operation.parameters?.some((p) => p.in === 'header' && p.name === 'Idempotency-Key'),
        `${at} documents Idempotency-Key`,
      ).toBe(true);
      expect(Object.keys(operation.responses), at).toEqual(expect.arrayContaining(['409', '422']));
    }
  });
});

describe('embedded PGlite', () => {
  let dataDir: string;
  let api: TestApp;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'pglite-idem-'));
    api = await bootTestApp({
      DATABASE_URL: undefined,
      REDIS_URL: undefined,
      API_KEYS: undefined,
      DATA_DIR: dataDir,
      TRUST_PROXY: '1',
    });
  });

  afterAll(async () => {
    await api?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  sharedRules(() => api);
});
