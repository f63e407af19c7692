import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TEST_REDIS_URL } from '../support/services.js';

// Attacks on authentication and on the per-client limits, each with the bound it must hold.
// Two instances share one Redis prefix, as the instances of one deployment do. The requests come
// from 127.0.0.1, which TRUST_PROXY trusts as the proxy: X-Forwarded-For names the client the
// proxy saw, so one test process can act as many clients.
const PREFIX = `t-attack-auth-${randomUUID().slice(0, 8)}`;
const KEY = { name: 'mobile', secret: `mobile-secret-${randomUUID()}` };
const ADMIN_TOKEN = `admin-${randomUUID()}`;
let db: TestDatabase;
let redis: Redis;
let a: TestApp;
let b: TestApp;

const product = () => ({ sku: `ATK-${randomUUID().slice(0, 12)}`, name: 'Attack', priceCents: 1, currency: 'EUR' });
const from = (address: string, headers: Record<string, string> = {}) => ({ 'x-forwarded-for': address, ...headers });

beforeAll(async () => {
  db = await createTestDatabase('attack_auth');
  redis = new Redis(TEST_REDIS_URL);
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    API_KEYS: `${KEY.name}:${KEY.secret}`,
    ADMIN_TOKEN,
    TRUST_PROXY: '127.0.0.1/32,::1',
    // The defaults: 20 failures per minute per IP.
    AUTH_FAILURE_LIMIT: undefined,
    AUTH_FAILURE_TTL_SECONDS: undefined,
    THROTTLE_REDIS_TIMEOUT_MS: '5000',
  };
  a = await bootTestApp(env);
  b = await bootTestApp(env);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await db?.drop();
});

async function expectAuthLimited(response: Response): Promise<void> {
  expect(response.status).toBe(429);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(response.headers.get('ratelimit-policy')).toBe('"auth-failure";q=20;w=60');
  expect(response.headers.get('ratelimit')).toMatch(/^"auth-failure";r=0;t=\d+$/);
  expect(response.headers.get('x-request-id')).toBeTruthy();
  expect((await problemOf(response)).detail).toMatch(/failed authentication/);
}

describe('guessing API keys (AUTH_FAILURE_LIMIT 20 per 60 s, two instances)', () => {
  const attacker = '198.51.100.20';

  it('300 wrong keys from one IP across both instances: exactly 20 get 401, the other 280 get 429', async () => {
    const responses = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        (i % 2 === 0 ? a : b).request('/v1/products', {
          method: 'POST',
          json: product(),
          headers: from(attacker, { 'x-api-key': `guess-${i}-${randomUUID()}` }),
        }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(280);
    for (const response of responses) {
      if (response.status === 429) await expectAuthLimited(response);
      else await response.arrayBuffer();
    }
    // One bucket, in Redis: the failures of both instances counted together.
    expect(await redis.llen(`${PREFIX}:throttle:{ip:${attacker}}:auth-failure`)).toBe(20);
  });

  it('refuses even the right key from the locked-out IP, before comparing it', async () => {
    const response = await b.request('/v1/products', {
      method: 'POST',
      json: product(),
      headers: from(attacker, { authorization: `Bearer ${KEY.secret}` }),
    });
    await expectAuthLimited(response);
  });

  it('does not lock the key out for its real user on another IP', async () => {
    const response = await a.request('/v1/products', {
      method: 'POST',
      json: product(),
      headers: from('192.0.2.44', { 'x-api-key': KEY.secret }),
    });
    expect(response.status).toBe(201);
    // The write is limited by the key's own tiers, not by the failure tier.
    expect(response.headers.get('ratelimit-policy')).not.toMatch(/auth-failure/);
  });
});

describe('guessing the admin token', () => {
  const attacker = '198.51.100.30';

  it('300 wrong tokens from one IP across both instances: exactly 20 get 403, the other 280 get 429; the operator elsewhere gets in', async () => {
    const responses = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        (i % 2 === 0 ? a : b).request('/admin/dead-letters', {
          headers: from(attacker, { authorization: `Bearer guess-${i}-${randomUUID()}` }),
        }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 403)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(280);
    for (const response of responses) {
      if (response.status === 429) await expectAuthLimited(response);
      else await response.arrayBuffer();
    }
    await expectAuthLimited(
      await a.request('/admin/dead-letters', { headers: from(attacker, { authorization: `Bearer ${ADMIN_TOKEN}` }) }),
    );
    const operator = await b.request('/admin/dead-letters', {
      headers: from('192.0.2.55', { authorization: `Bearer ${ADMIN_TOKEN}` }),
    });
    expect(operator.status).toBe(200);
  });
});

describe('spoofed X-Forwarded-For chains (THROTTLE_LIMIT 10)', () => {
  const limited = () => `/v1/products/${randomUUID()}`;

  async function admittedOf(app: TestApp, forwardedFor: (i: number) => string, count: number): Promise<number> {
    let admitted = 0;
    for (let start = 0; start < count; start += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, count - start) }, (_, j) =>
          app.request(limited(), { headers: { 'x-forwarded-for': forwardedFor(start + j) } }),
        ),
      );
      for (const response of batch) {
        if (response.status !== 429) admitted++;
        await response.arrayBuffer();
      }
    }
    return admitted;
  }

  it('hop count 1 behind one proxy: the key is the address the proxy saw, whatever the client wrote before it (10 of 300)', async () => {
    const prefix = `${PREFIX}-hops`;
    const app = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      TRUST_PROXY: '1',
      THROTTLE_LIMIT: '10',
    });
    try {
      // The client wrote a fresh chain each time; the proxy (the socket, 127.0.0.1) appended what it saw.
      const admitted = await admittedOf(app, (i) => `10.${i % 250}.0.1, 203.0.113.${i % 250}, 192.0.2.77`, 300);
      expect(admitted).toBe(10);
      expect(await redis.keys(`${prefix}:throttle:*`)).toEqual([`${prefix}:throttle:{ip:192.0.2.77}:default`]);
    } finally {
      await app.close();
    }
  });

  it('a CIDR list that does not include the client: a client that reaches the service directly cannot rotate its key (10 of 300)', async () => {
    const prefix = `${PREFIX}-cidr`;
    const app = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      TRUST_PROXY: '10.0.0.0/8',
      THROTTLE_LIMIT: '10',
    });
    try {
      const admitted = await admittedOf(app, (i) => `198.51.100.${i % 250}`, 300);
      expect(admitted).toBe(10);
      expect(await redis.keys(`${prefix}:throttle:*`)).toEqual([`${prefix}:throttle:{ip:127.0.0.1}:default`]);
    } finally {
      await app.close();
    }
  });
});

describe('CORS on, and /admin', () => {
  it('a preflight to /admin gets no CORS answer (it meets the admin check); /v1 keeps its CORS', async () => {
    const origin = 'https://app.example.test';
    const app = await bootTestApp({ DATABASE_URL: db.url, ADMIN_TOKEN, CORS_ORIGINS: origin });
    try {
      const preflight = (path: string) =>
        app.request(path, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'GET',
            'access-control-request-headers': 'authorization',
          },
        });
      for (const path of ['/admin/dead-letters', '/admin/queues/api/queues', '/%61dmin/dead-letters']) {
        const response = await preflight(path);
        expect(response.status, path).toBe(401);
        expect(response.headers.get('access-control-allow-origin'), path).toBeNull();
        await problemOf(response);
      }
      // An admin request from a browser on an allowed origin gets no CORS headers either (its script cannot read it).
      const admin = await app.request('/admin/dead-letters', {
        headers: { origin, authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(admin.status).toBe(200);
      expect(admin.headers.get('access-control-allow-origin')).toBeNull();
      await admin.arrayBuffer();

      const api = await preflight('/v1/products');
      expect(api.status).toBe(204);
      expect(api.headers.get('access-control-allow-origin')).toBe(origin);
    } finally {
      await app.close();
    }
  });
});
