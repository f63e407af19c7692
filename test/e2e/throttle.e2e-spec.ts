import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TEST_REDIS_URL } from '../support/services.js';

// Every app here shares the suite's database and one Redis key prefix, as instances of one deployment do.
const PREFIX = `t-throttle-${randomUUID().slice(0, 8)}`;
const KEYS = ['alpha', 'beta', 'gamma', 'delta'].map((name) => ({ name, secret: `${name}-secret-${randomUUID()}` }));
let db: TestDatabase;
let redis: Redis;
const apps: TestApp[] = [];

async function boot(env: Record<string, string | undefined>): Promise<TestApp> {
  const app = await bootTestApp({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    API_KEYS: KEYS.map((k) => `${k.name}:${k.secret}`).join(','),
    THROTTLE_BURST_LIMIT: '0',
    THROTTLE_WRITE_LIMIT: '0',
    TRUST_PROXY: undefined,
    ...env,
  });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  db = await createTestDatabase('throttle');
  redis = new Redis(TEST_REDIS_URL);
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  // Every prefix this suite used starts with PREFIX (the limiter's keys and the other modules' alike).
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await db?.drop();
});

/** A limited route that is cheap to call: a product that does not exist (404 once admitted). */
const LIMITED = () => `/v1/products/${randomUUID()}`;
const admitted = (response: Response) => response.status !== 429;

async function expectThrottled(response: Response): Promise<void> {
  expect(response.status).toBe(429);
  const retryAfter = response.headers.get('retry-after');
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(response.headers.get('ratelimit-policy')).toMatch(/^"default";q=\d+;w=\d+$/);
  expect(response.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/);
  expect((await problemOf(response)).detail).toMatch(/Too many requests/);
}

describe('two instances sharing Redis (limit 10 per 60 s)', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    // A generous Redis timeout: this suite is about exactness, and a loaded CI machine must not trip the fail mode.
    const env = { THROTTLE_LIMIT: '10', THROTTLE_TTL_SECONDS: '60', THROTTLE_REDIS_TIMEOUT_MS: '5000' };
    a = await boot(env);
    b = await boot(env);
  });

  it('admits exactly 10 of 1000 concurrent requests from one client, the rest get 429 with Retry-After and RateLimit', async () => {
    const headers = { 'x-api-key': KEYS[0]!.secret };
    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? a : b).request(LIMITED(), { headers })),
    );
    expect(responses.filter(admitted)).toHaveLength(10);
    for (const response of responses.filter(admitted)) {
      expect(response.status).toBe(404);
      expect(response.headers.get('ratelimit-policy')).toBe('"default";q=10;w=60');
      expect(response.headers.get('ratelimit')).toMatch(/^"default";r=\d;t=(59|60)$/);
      await response.arrayBuffer();
    }
    const remaining = responses.filter(admitted).map((r) => Number(/r=(\d+)/.exec(r.headers.get('ratelimit')!)![1]));
    expect(remaining.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const refused = responses.filter((r) => !admitted(r));
    expect(refused).toHaveLength(990);
    for (const response of refused) await expectThrottled(response);

    // Both instances decided in Redis (none fell back), and refusals are counted by tier.
    const metrics = (await (await a.request('/metrics')).text()) + (await (await b.request('/metrics')).text());
    expect(metrics).not.toMatch(/^throttle_fallbacks_total\{/m);
    const throttled = [...metrics.matchAll(/^throttled_requests_total\{tier="default"\} (\d+)/gm)].map((m) =>
      Number(m[1]),
    );
    expect(throttled.reduce((sum, n) => sum + n, 0)).toBe(990);
    // The client's bucket lives under the suite's prefix, hash-tagged by client.
    expect(await redis.llen(`${PREFIX}:throttle:{key:alpha}:default`)).toBe(10);
  });

  it('counts a valid API key apart from its IP, and an invalid key as the IP', async () => {
    for (let i = 0; i < 10; i++) expect(admitted(await a.request(LIMITED()))).toBe(true);
    await expectThrottled(await b.request(LIMITED()));
    await expectThrottled(await b.request(LIMITED(), { headers: { 'x-api-key': 'not-a-valid-key-at-all' } }));
    const keyed = await b.request(LIMITED(), { headers: { authorization: `Bearer ${KEYS[1]!.secret}` } });
    expect(keyed.status).toBe(404);
    expect(keyed.headers.get('ratelimit')).toMatch(/^"default";r=9;/);
  });

  it('ignores X-Forwarded-For without TRUST_PROXY: a spoofed address gets no fresh quota', async () => {
    // This IP's quota is spent (previous test).
    for (const forwarded of ['198.51.100.1', '198.51.100.2', '203.0.113.50, 198.51.100.3']) {
      await expectThrottled(await a.request(LIMITED(), { headers: { 'x-forwarded-for': forwarded } }));
    }
  });

  it('never limits /health, /metrics or /docs, even for a client whose quota is spent', async () => {
    for (let i = 0; i < 15; i++) {
      for (const path of ['/health/live', '/health/ready', '/metrics', '/docs-json']) {
        const response = await a.request(path);
        expect(response.status, path).not.toBe(429);
        expect(response.headers.get('ratelimit'), path).toBeNull();
        await response.arrayBuffer();
      }
    }
  });
});

describe('two instances sharing Redis, a limit large enough to lease (300 per 60 s)', () => {
  it('admits 200 of 200, then no more than the rest of 1000 concurrent, then exactly 300 in all once the leases have ended', async () => {
    const env = { THROTTLE_LIMIT: '300', THROTTLE_TTL_SECONDS: '60', THROTTLE_REDIS_TIMEOUT_MS: '5000' };
    const a = await boot(env);
    const b = await boot(env);
    const headers = { 'x-api-key': KEYS[3]!.secret };
    const concurrently = (count: number) =>
      Promise.all(Array.from({ length: count }, (_, i) => (i % 2 === 0 ? a : b).request(LIMITED(), { headers })));

    // Under the limit every request passes, though the instances hold leases.
    const first = await concurrently(200);
    expect(first.filter(admitted)).toHaveLength(200);
    await Promise.all(first.map((response) => response.arrayBuffer()));

    const burst = await concurrently(1000);
    const admittedInBurst = burst.filter(admitted);
    expect(admittedInBurst.length).toBeLessThanOrEqual(100);
    for (const response of [...first, ...admittedInBurst]) {
      expect(response.status).toBe(404);
      expect(response.headers.get('ratelimit-policy')).toBe('"default";q=300;w=60');
      const [, remaining, reset] = /^"default";r=(\d+);t=(\d+)$/.exec(response.headers.get('ratelimit')!)!;
      expect(Number(remaining)).toBeLessThan(300);
      expect(Number(reset)).toBeLessThanOrEqual(61);
    }
    for (const response of burst.filter((r) => !admitted(r))) await expectThrottled(response);
    await Promise.all(admittedInBurst.map((response) => response.arrayBuffer()));

    // A lease lasts at most 250 ms and its unspent slots are handed back within 100 ms of its end:
    // after that, one instance gets exactly what is left, one request at a time.
    await sleep(1_000);
    let after = 0;
    for (;;) {
      const response = await a.request(LIMITED(), { headers });
      await response.arrayBuffer();
      if (!admitted(response)) break;
      after += 1;
      expect(after).toBeLessThanOrEqual(100);
    }
    expect(200 + admittedInBurst.length + after).toBe(300);
    // Neither instance fell back to its local limiter.
    const metrics = (await (await a.request('/metrics')).text()) + (await (await b.request('/metrics')).text());
    expect(metrics).not.toMatch(/^throttle_fallbacks_total\{/m);
  });
});

describe('behind a trusted proxy', () => {
  it.each([
    ['a hop count', '1'],
    ['a CIDR list', '10.0.0.0/8,127.0.0.1/32,::1'],
  ])(
    'TRUST_PROXY as %s: distinct clients get distinct quotas, a spoofed left-hand entry gets none',
    async (_label, trust) => {
      const app = await boot({
        THROTTLE_LIMIT: '3',
        TRUST_PROXY: trust,
        REDIS_KEY_PREFIX: `${PREFIX}-${trust.length}`,
      });
      const client = (n: number) => `192.0.2.${n}`;
      for (const n of [1, 2, 3]) {
        for (let i = 0; i < 3; i++)
          expect(admitted(await app.request(LIMITED(), { headers: { 'x-forwarded-for': client(n) } }))).toBe(true);
      }
      await expectThrottled(await app.request(LIMITED(), { headers: { 'x-forwarded-for': client(1) } }));
      // The proxy appends the address it saw; whatever the client wrote before it is not trusted.
      await expectThrottled(
        await app.request(LIMITED(), { headers: { 'x-forwarded-for': `198.51.100.77, ${client(2)}` } }),
      );
      const keys = await redis.keys(`${PREFIX}-${trust.length}:throttle:*`);
      expect(keys.sort()).toEqual([1, 2, 3].map((n) => `${PREFIX}-${trust.length}:throttle:{ip:${client(n)}}:default`));
      for (const key of keys) await redis.del(key);
    },
  );
});

describe('across a window boundary (limit 5 per 2 s)', () => {
  it('never admits more than the limit in any window-length span, where a fixed window would admit twice as many', async () => {
    const app = await boot({ THROTTLE_LIMIT: '5', THROTTLE_TTL_SECONDS: '2' });
    const headers = { 'x-api-key': KEYS[2]!.secret };
    const W = 2_000;
    const L = 5;
    const log: Array<{ sent: number; received: number; admitted: boolean }> = [];
    const send = async () => {
      const sent = Date.now();
      const response = await app.request(LIMITED(), { headers });
      await response.arrayBuffer();
      log.push({ sent, received: Date.now(), admitted: admitted(response) });
    };

    // 1. The fixed-window double burst: L requests just before a (2 s-aligned) boundary, L just after.
    await sleep(W - (Date.now() % W) + (W - 150));
    await Promise.all(Array.from({ length: L }, send));
    const firstBurstDone = Math.max(...log.map((e) => e.received));
    await sleep(W - (Date.now() % W) + 50);
    const secondBurst = log.length;
    await Promise.all(Array.from({ length: L }, send));
    for (const entry of log.slice(secondBurst)) {
      // Admitted only if the first burst had really left the window (it can't have, barring a 1.8 s stall).
      if (entry.sent - firstBurstDone < W) expect(entry.admitted).toBe(false);
    }

    // 2. Steady traffic, one request every 50 ms across three boundaries.
    const steadyStart = log.length;
    const until = Date.now() + 3 * W;
    while (Date.now() < until) {
      await send();
      await sleep(50);
    }
    expect(log.slice(steadyStart).filter((e) => e.admitted).length).toBeGreaterThanOrEqual(L);

    // Any L+1 admitted requests span at least W (each was decided between its send and receive times).
    const accepted = log.filter((e) => e.admitted).sort((x, y) => x.sent - y.sent);
    for (let i = 0; i + L < accepted.length; i++) {
      const group = accepted.slice(i, i + L + 1);
      expect(Math.max(...group.map((e) => e.received)) - Math.min(...group.map((e) => e.sent))).toBeGreaterThanOrEqual(
        W,
      );
    }
  });
});

describe('tiers', () => {
  it('with only THROTTLE_LIMIT set, it is the only limit: no burst or write tier caps a client', async () => {
    // The further tiers' variables unset, as a user who configures only THROTTLE_LIMIT has them.
    const app = await boot({
      THROTTLE_LIMIT: '100000',
      THROTTLE_BURST_LIMIT: undefined,
      THROTTLE_WRITE_LIMIT: undefined,
      REDIS_KEY_PREFIX: `${PREFIX}-only`,
    });
    const responses = await Promise.all(Array.from({ length: 60 }, () => app.request(LIMITED())));
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 404));
    for (const response of responses) expect(response.headers.get('ratelimit-policy')).toBe('"default";q=100000;w=60');
    const keys = await redis.keys(`${PREFIX}-only:*`);
    if (keys.length > 0) await redis.del(...keys);
  });

  it('applies burst, default and write tiers together and names them all in the headers', async () => {
    const app = await boot({
      THROTTLE_LIMIT: '100',
      THROTTLE_BURST_LIMIT: '2',
      THROTTLE_BURST_TTL_SECONDS: '10',
      THROTTLE_WRITE_LIMIT: '1',
      REDIS_KEY_PREFIX: `${PREFIX}-tiers`,
    });
    const first = await app.request(LIMITED());
    expect(first.headers.get('ratelimit-policy')).toBe('"burst";q=2;w=10, "default";q=100;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^"burst";r=1;t=10, "default";r=99;t=60$/);
    expect(admitted(await app.request(LIMITED()))).toBe(true);
    const refused = await app.request(LIMITED());
    expect(refused.status).toBe(429);
    expect(refused.headers.get('ratelimit')).toMatch(/^"burst";r=0;t=\d+, "default";r=98;t=\d+$/);
    expect((await problemOf(refused)).detail).toMatch(/"burst" limit of 2 per 10 s/);
    expect(await (await app.request('/metrics')).text()).toMatch(/^throttled_requests_total\{tier="burst"\} 1$/m);

    // Writes count against the write tier too (with a key: the IP's burst is spent).
    const headers = { 'x-api-key': KEYS[0]!.secret };
    const product = (n: number) => ({
      sku: `THR-${randomUUID().slice(0, 8)}-${n}`,
      name: 'Throttled',
      priceCents: 1,
      currency: 'EUR',
    });
    const created = await app.request('/v1/products', { method: 'POST', json: product(1), headers });
    expect(created.status).toBe(201);
    expect(created.headers.get('ratelimit-policy')).toBe('"burst";q=2;w=10, "default";q=100;w=60, "write";q=1;w=60');
    const second = await app.request('/v1/products', { method: 'POST', json: product(2), headers });
    expect(second.status).toBe(429);
    expect((await problemOf(second)).detail).toMatch(/"write" limit/);
    const keys = await redis.keys(`${PREFIX}-tiers:*`);
    if (keys.length > 0) await redis.del(...keys);
  });
});
