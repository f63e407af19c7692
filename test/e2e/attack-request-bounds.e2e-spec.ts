import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * Resource-exhaustion attacks through one request (issue 13, items 3 and 7): each is answered with
 * a bounded 4xx problem, before the costly part (class-transformer, validation, the database) runs,
 * and the process keeps serving. Each bound here is the point of its test.
 */
let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase('attack_bounds');
  api = await bootTestApp({ DATABASE_URL: db.url, REDIS_URL: undefined, API_KEYS: undefined });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

const json = { 'content-type': 'application/json' };
const product = () => ({ sku: `ATK-${randomUUID().slice(0, 8)}`, name: 'n', priceCents: 1, currency: 'EUR' });

function keys(count: number, prefix = 'k'): Record<string, number> {
  const out: Record<string, number> = {};
  for (let index = 0; index < count; index++) out[`${prefix}${index}`] = 1;
  return out;
}

async function post(path: string, body: string): Promise<{ response: Response; text: string }> {
  const response = await api.request(path, { method: 'POST', body, headers: json });
  return { response, text: await response.clone().text() };
}

async function productRows(): Promise<number> {
  return Number((await db.query<{ count: string }>('SELECT count(*)::text AS count FROM products'))[0]!.count);
}

describe('request bounds under attack', () => {
  it('rejects JSON nested 5 000 levels deep with a 400 naming the depth limit, no stack overflow', async () => {
    const { response } = await post('/v1/products', '{"a":'.repeat(5000) + '1' + '}'.repeat(5000));
    const problem = await problemOf(response);
    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([{ field: Array(32).fill('a').join('.'), message: 'nests deeper than 32 levels' }]);
  });

  it('rejects an import whose item nests 2 000 levels deep (a 4 KB body) with a 400', async () => {
    const { response } = await post('/v1/products/import', `{"items":[${'['.repeat(2000)}${']'.repeat(2000)}]}`);
    expect(response.status).toBe(400);
    expect((await problemOf(response)).detail).toMatch(/nests deeper than 32 levels/);
  });

  it('answers 90 000 unknown keys (0.98 MB) with a small 400 while the event loop stays free', async () => {
    const body = JSON.stringify({ ...product(), ...keys(90_000) });
    expect(body.length).toBeGreaterThan(900_000);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const started = performance.now();
    const probes: number[] = [];
    let finished = false;
    const probing = (async () => {
      while (!finished) {
        const sent = performance.now();
        expect((await api.request('/health/live')).status).toBe(200);
        probes.push(performance.now() - sent);
      }
    })();
    const { response, text } = await post('/v1/products', body);
    const elapsed = performance.now() - started;
    finished = true;
    await probing;
    loop.disable();
    console.log(
      `90 000 keys: answered in ${elapsed.toFixed(0)} ms; /health/live during it: ${probes.length} answers, max ${Math.max(...probes).toFixed(1)} ms; ` +
        `event loop delay max ${(loop.max / 1e6).toFixed(1)} ms`,
    );
    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.errors).toEqual([{ field: '(body)', message: 'holds more than 1000 properties' }]);
    expect(text.length).toBeLessThan(2048);
    // Generous: the quadratic path held the loop for 22 s.
    expect(loop.max / 1e6).toBeLessThan(1000);
  });

  it('rejects more keys than the body limit allows in all, spread over small objects', async () => {
    const items = Array.from({ length: 101 }, () => keys(1000, 'a'));
    const { response } = await post('/v1/products/import', JSON.stringify({ items }));
    expect(response.status).toBe(400);
    expect((await problemOf(response)).errors).toEqual([
      { field: '(body)', message: 'holds more than 100000 properties in all' },
    ]);
  });

  it('rejects an array longer than the limit', async () => {
    const { response } = await post(
      '/v1/products/import',
      JSON.stringify({ items: Array.from({ length: 10_001 }, () => 0) }),
    );
    expect(response.status).toBe(400);
    expect((await problemOf(response)).errors).toEqual([{ field: 'items', message: 'holds more than 10000 elements' }]);
  });

  it('caps a huge error list at 50 entries and says how many more there were', async () => {
    const { response, text } = await post('/v1/products', JSON.stringify({ ...product(), ...keys(900) }));
    const problem = await problemOf(response);
    expect(response.status).toBe(400);
    expect(problem.errors).toHaveLength(50);
    expect(problem.detail).toMatch(/850 more/);
    expect(text.length).toBeLessThan(8192);
  });

  it('rejects a forged cursor dated outside what PostgreSQL can hold with a 400, never a 500', async () => {
    // JavaScript dates span ±275 760 years; PostgreSQL's timestamptz 4713 BC to 294276 AD.
    for (const time of [-8.64e15, 8.64e15, Date.UTC(10_000, 0, 1)]) {
      const cursor = Buffer.from(JSON.stringify([new Date(time).toISOString(), randomUUID()])).toString('base64url');
      for (const path of ['/v1/products', '/v1/users']) {
        const response = await api.request(`${path}?cursor=${cursor}`);
        expect(response.status).toBe(400);
        expect((await problemOf(response)).errors).toEqual([
          { field: 'cursor', message: 'is not a cursor this API returned' },
        ]);
      }
    }
  });

  it('stored nothing and keeps serving', async () => {
    expect(await productRows()).toBe(0);
    expect((await api.request('/health/live')).status).toBe(200);
    expect((await api.request('/v1/products', { method: 'POST', json: product() })).status).toBe(201);
  });
});
