import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthFailureLimiter } from '../auth/auth-failure-limiter.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { MemoryRateLimitStore } from '../throttle/memory-rate-limit.store.js';
import { installAdminGuard, presentedAdminToken } from './admin-auth.hook.js';

const TOKEN = 'admin-token-0123456789';
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('presentedAdminToken', () => {
  it('reads a bearer token or the Basic password', () => {
    expect(presentedAdminToken(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(presentedAdminToken(basic('anyone', TOKEN))).toBe(TOKEN);
    expect(presentedAdminToken(basic('', 'p:with:colons'))).toBe('p:with:colons');
    expect(presentedAdminToken(undefined)).toBeUndefined();
    expect(presentedAdminToken('Digest abc')).toBeUndefined();
    expect(presentedAdminToken(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
  });
});

describe('installAdminGuard', () => {
  let app: FastifyInstance;

  /** A real limiter on the in-memory store: 3 wrong tokens per minute per IP. */
  function failureLimiter(): AuthFailureLimiter {
    const auth = { apiKeys: [], adminToken: TOKEN, failureLimit: { limit: 3, windowMs: 60_000 } };
    return new AuthFailureLimiter(auth, new MemoryRateLimitStore(), new MetricsService());
  }

  async function build(token: string | undefined): Promise<FastifyInstance> {
    app = Fastify();
    installAdminGuard(app, token, failureLimiter());
    app.get('/v1/open', () => ({ ok: true }));
    app.get('/admin/dead-letters', () => ({ items: [] }));
    // Like bull-board: routes registered by an encapsulated plugin, later than the hook.
    await app.register(
      (plugin, _opts, done) => {
        plugin.get('/api/queues', () => ({ queues: [] }));
        done();
      },
      { prefix: '/admin/queues' },
    );
    await app.ready();
    return app;
  }

  afterEach(async () => {
    await app.close();
  });

  it('leaves other routes alone', async () => {
    await build(TOKEN);
    expect((await app.inject({ url: '/v1/open' })).statusCode).toBe(200);
  });

  it('answers 401 with a Basic challenge without a credential, on every /admin route', async () => {
    await build(TOKEN);
    for (const url of [
      '/admin/dead-letters',
      '/admin/queues/api/queues',
      '/admin/nothing-here',
      '/admin',
      '/%61dmin/queues/api/queues',
    ]) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Basic /);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ status: 401, type: 'about:blank' });
    }
  });

  it('answers 403 to a wrong token and lets the right one through, as Bearer or Basic', async () => {
    await build(TOKEN);
    const wrong = await app.inject({
      url: '/admin/queues/api/queues',
      headers: { authorization: 'Bearer wrong-token-000000000' },
    });
    expect(wrong.statusCode).toBe(403);
    const wrongBasic = await app.inject({
      url: '/admin/dead-letters',
      headers: { authorization: basic('admin', 'nope') },
    });
    expect(wrongBasic.statusCode).toBe(403);
    expect(
      (await app.inject({ url: '/admin/queues/api/queues', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode,
    ).toBe(200);
    expect(
      (await app.inject({ url: '/admin/dead-letters', headers: { authorization: basic('admin', TOKEN) } })).statusCode,
    ).toBe(200);
  });

  it('limits wrong tokens per IP: 429 past the limit, even for the right token, but not for another IP', async () => {
    await build(TOKEN);
    const attacker = '198.51.100.9';
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const response = await app.inject({
        url: '/admin/dead-letters',
        remoteAddress: attacker,
        headers: { authorization: `Bearer guess-${i}-0000000000` },
      });
      statuses.push(response.statusCode);
      if (response.statusCode === 429) {
        expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(response.headers['ratelimit-policy']).toBe('"auth-failure";q=3;w=60');
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    }
    expect(statuses).toEqual([403, 403, 403, 429, 429, 429, 429, 429, 429, 429]);
    // Locked out before the comparison: the right token from that address learns nothing.
    expect(
      (
        await app.inject({
          url: '/admin/dead-letters',
          remoteAddress: attacker,
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).statusCode,
    ).toBe(429);
    // The operator elsewhere is not locked out by someone else's failures.
    expect(
      (
        await app.inject({
          url: '/admin/dead-letters',
          remoteAddress: '192.0.2.1',
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).statusCode,
    ).toBe(200);
  });

  it('answers 404 to everything under /admin when no token is configured', async () => {
    await build(undefined);
    for (const url of ['/admin/dead-letters', '/admin/queues/api/queues']) {
      const response = await app.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.statusCode, url).toBe(404);
      expect(response.headers['www-authenticate']).toBeUndefined();
    }
    expect((await app.inject({ url: '/v1/open' })).statusCode).toBe(200);
  });
});
