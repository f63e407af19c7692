import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RedisServer } from '../support/redis-server.js';

// The suite's own redis-server, stopped mid-test: THROTTLE_FAIL_MODE decides what the limiter does.
let db: TestDatabase;
let server: RedisServer;
let local: TestApp;
let closed: TestApp;

beforeAll(async () => {
  db = await createTestDatabase('throttle_failover');
  server = await RedisServer.start();
  const env = (failMode: string) => ({
    DATABASE_URL: db.url,
    REDIS_URL: server.url,
    REDIS_KEY_PREFIX: `t-throttle-fo-${failMode}`,
    THROTTLE_LIMIT: '3',
    THROTTLE_BURST_LIMIT: '0',
    THROTTLE_FAIL_MODE: failMode,
    THROTTLE_REDIS_TIMEOUT_MS: '200',
    // The queue stays off this Redis: this suite is about the limiter (BullMQ workers' close can hang
    // after their Redis restarted; reported to the queue's owner).
    QUEUE_DRIVER: 'memory',
  });
  local = await bootTestApp(env('local'));
  closed = await bootTestApp(env('closed'));
});

afterAll(async () => {
  await local?.close();
  await closed?.close();
  await server?.stop();
  await db?.drop();
});

const LIMITED = () => `/v1/products/${randomUUID()}`;

async function fallbacks(app: TestApp, mode: string): Promise<number> {
  const text = await (await app.request('/metrics')).text();
  return Number(new RegExp(`^throttle_fallbacks_total\\{mode="${mode}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

/** Retries `probe` until it holds (Redis reconnects within about a second); bounded. */
async function eventually(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await probe()) return;
    await sleep(100);
  }
  throw new Error('condition not reached within 10 s');
}

describe('THROTTLE_FAIL_MODE when Redis goes away', () => {
  it('local: keeps limiting per instance in memory (logged and counted), closed: answers 503; both recover', async () => {
    expect((await local.request(LIMITED())).status).toBe(404);
    expect((await closed.request(LIMITED())).status).toBe(404);

    await server.stop();

    // local: the in-memory limiter takes over, starting from zero but never unlimited.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await local.request(LIMITED())).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    expect(await fallbacks(local, 'local')).toBe(5);

    // closed: limited routes refuse with 503 problem+json; operational routes still answer.
    const refused = await closed.request(LIMITED());
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await problemOf(refused)).detail).toMatch(/Rate limiting is unavailable/);
    expect((await closed.request('/health/live')).status).toBe(200);
    expect(await fallbacks(closed, 'closed')).toBe(1);

    await server.resume();

    // Back on Redis (restarted empty: its script cache too, so this also goes through NOSCRIPT → EVAL).
    await eventually(async () => (await closed.request(LIMITED())).status === 404);
    const before = await fallbacks(local, 'local');
    await eventually(async () => {
      const status = (await local.request(LIMITED())).status;
      return status !== 429 && (await fallbacks(local, 'local')) === before;
    });
    // Shared limits again: the Redis window counts what this IP sent since Redis came back.
    const after: number[] = [];
    for (let i = 0; i < 4; i++) after.push((await local.request(LIMITED())).status);
    expect(after.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
    expect(after.filter((s) => s === 404).length).toBeLessThanOrEqual(2);
  });
});
