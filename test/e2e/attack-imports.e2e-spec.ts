/* Attack regression (issue 13 item 2): one client sends 50 maximal bulk imports at once.
 * Must hold: every answer is 202 or 429 (problem+json with Retry-After), the process's RSS and
 * the queue's Redis memory grow by a bounded amount (the items live in PostgreSQL, not in jobs),
 * a cached GET keeps being answered meanwhile, and the accepted imports complete with the right
 * counts and leave no staged rows behind. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { RedisServer } from '../support/redis-server.js';

const IMPORTS = 50;
const ITEMS = 10_000;
const BODY_LIMIT = 1024 * 1024;
const MiB = 1024 * 1024;
const KEY = `attack-${randomUUID()}`;
const run = randomUUID().slice(0, 8);

/** A body of ITEMS valid products, just under the 1 MiB body limit; skus unique per import. */
function maximalBody(importNo: number): string {
  const item = (n: number, name: string) => ({
    sku: `ATK-${run}-${importNo}-${n}`,
    name,
    priceCents: n + 1,
    currency: 'EUR',
  });
  const bare = JSON.stringify({ items: Array.from({ length: ITEMS }, (_, n) => item(n, '')) }).length;
  const nameLength = Math.min(200, Math.floor((BODY_LIMIT - 2048 - bare) / ITEMS));
  const body = JSON.stringify({
    items: Array.from({ length: ITEMS }, (_, n) => item(n, `P${'x'.repeat(nameLength - 1)}`)),
  });
  if (body.length > BODY_LIMIT) throw new Error(`body of ${body.length} bytes is over the limit`);
  return body;
}

const usedMemory = async (redis: Redis): Promise<number> =>
  Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);

describe('50 maximal imports from one client', () => {
  let db: TestDatabase;
  let redisServer: RedisServer;
  let redis: Redis;
  let api: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase('attack_imports');
    // A private redis-server, so INFO memory measures this suite alone.
    redisServer = await RedisServer.start();
    redis = new Redis(redisServer.url);
    api = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: redisServer.url,
      REDIS_KEY_PREFIX: 't-attack-imports',
      QUEUE_DRIVER: 'bullmq',
      API_KEYS: `attacker:${KEY}`,
      WEBHOOK_URLS: undefined,
      SMTP_URL: undefined,
    });
  }, 60_000);

  afterAll(async () => {
    await api?.close();
    redis?.disconnect();
    await redisServer?.stop();
    await db?.drop();
  });

  it(
    'answers 202 or 429, keeps RSS and Redis bounded, keeps serving a cached GET, and completes what it accepted',
    { timeout: 300_000 },
    async () => {
      const auth = { 'x-api-key': KEY };
      const seeded = await api.request('/v1/products', {
        method: 'POST',
        headers: auth,
        json: { sku: `ATK-${run}-probe`, name: 'Probe', priceCents: 1, currency: 'EUR' },
      });
      expect(seeded.status).toBe(201);
      const probePath = `/v1/products/${((await seeded.json()) as { id: string }).id}`;
      expect((await api.request(probePath)).status).toBe(200);
      expect((await api.request(probePath)).headers.get('cache-status')).toContain('hit');

      const bodies = Array.from({ length: IMPORTS }, (_, n) => maximalBody(n));
      const redisBefore = await usedMemory(redis);
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = rssBefore;
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);

      // The cached GET, polled throughout.
      const probes: Array<{ status: number; ms: number }> = [];
      let probing = true;
      const prober = (async () => {
        while (probing) {
          const started = performance.now();
          const response = await api.request(probePath);
          await response.arrayBuffer();
          probes.push({ status: response.status, ms: performance.now() - started });
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      // Stops the prober and the sampler even when an assertion below fails, so nothing polls a closed app.
      onTestFinished(async () => {
        probing = false;
        await prober.catch(() => undefined);
        clearInterval(sampler);
      });

      const answers = await Promise.all(
        bodies.map(async (body) => {
          const response = await api.request('/v1/products/import', {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body,
          });
          if (response.status === 202)
            return {
              status: 202,
              jobId: ((await response.json()) as { jobId: string }).jobId,
              location: response.headers.get('location'),
            };
          const problem = await problemOf(response);
          return { status: response.status, retryAfter: response.headers.get('retry-after'), detail: problem.detail };
        }),
      );
      const redisAfterAnswers = await usedMemory(redis);

      const accepted = answers.filter((a) => a.status === 202);
      const limited = answers.filter((a) => a.status === 429);
      expect(answers.filter((a) => a.status !== 202 && a.status !== 429)).toEqual([]); // with their details
      expect(accepted.length).toBeGreaterThan(0);
      expect(accepted.length).toBeLessThanOrEqual(2); // IMPORT_MAX_CONCURRENT_PER_CLIENT's default
      for (const answer of limited) expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      for (const answer of accepted) expect(answer.location).toBe(`/v1/jobs/${answer.jobId}`);

      const results = await Promise.all(
        accepted.map((answer) =>
          eventually(
            async () => {
              const job = (await (await api.request(`/v1/jobs/${answer.jobId}`, { headers: auth })).json()) as {
                state: string;
                result: unknown;
              };
              expect(job.state).toBe('completed');
              return job.result;
            },
            240_000,
            250,
          ),
        ),
      );
      probing = false;
      await prober;
      clearInterval(sampler);
      const redisAfterImports = await usedMemory(redis);

      for (const result of results) expect(result).toEqual({ created: ITEMS, failed: [] });
      const [{ n: products } = { n: '0' }] = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM products WHERE sku LIKE $1`,
        [`ATK-${run}-%-%`],
      );
      expect(Number(products)).toBe(accepted.length * ITEMS);
      const [{ n: staged } = { n: '-1' }] = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM product_import_items`,
      );
      expect(Number(staged)).toBe(0);

      // Bounds. Before the fix each accepted import kept its ~1 MiB payload (~3.5 MiB in Redis) for a day.
      expect(redisAfterAnswers - redisBefore).toBeLessThan(8 * MiB);
      expect(rssPeak - rssBefore).toBeLessThan(600 * MiB);
      expect(probes.length).toBeGreaterThan(0);
      expect(probes.filter((p) => p.status !== 200)).toEqual([]);

      const latencies = probes.map((p) => p.ms).sort((a, b) => a - b);
      const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
      console.log(
        `[attack:imports] answers: ${accepted.length}×202 ${limited.length}×429; redis growth: ${((redisAfterAnswers - redisBefore) / MiB).toFixed(1)} MiB after the answers, ` +
          `${((redisAfterImports - redisBefore) / MiB).toFixed(1)} MiB after ${accepted.length * ITEMS} products (their product.created dispatch jobs); ` +
          `RSS peak growth ${((rssPeak - rssBefore) / MiB).toFixed(0)} MiB; cached GET during it: n=${latencies.length} p50=${at(0.5)} ms p99=${at(0.99)} ms max=${at(1)} ms`,
      );
    },
  );
});
