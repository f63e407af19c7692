import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
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

  async function build(token: string | undefined): Promise<FastifyInstance> {
    app = Fastify();
    installAdminGuard(app, token);
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
    for (const url of ['/admin/dead-letters', '/admin/queues/api/queues', '/admin/nothing-here', '/admin', '/%61dmin/queues/api/queues']) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Basic /);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ status: 401, type: 'about:blank' });
    }
  });

  it('answers 403 to a wrong token and lets the right one through, as Bearer or Basic', async () => {
    await build(TOKEN);
    const wrong = await app.inject({ url: '/admin/queues/api/queues', headers: { authorization: 'Bearer wrong-token-000000000' } });
    expect(wrong.statusCode).toBe(403);
    const wrongBasic = await app.inject({ url: '/admin/dead-letters', headers: { authorization: basic('admin', 'nope') } });
    expect(wrongBasic.statusCode).toBe(403);
    expect((await app.inject({ url: '/admin/queues/api/queues', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/admin/dead-letters', headers: { authorization: basic('admin', TOKEN) } })).statusCode).toBe(200);
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
