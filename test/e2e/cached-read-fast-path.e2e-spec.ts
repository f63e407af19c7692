import { ApiExcludeController } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Header,
  Injectable,
  Module,
  Param,
  UseGuards,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createClient } from '@redis/client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppModule } from '../../src/app.module.js';
import { CacheAsideInterceptor } from '../../src/infra/cache/cache-aside.interceptor.js';
import { CacheService } from '../../src/infra/cache/cache.service.js';
import { CachedReadPort } from '../../src/infra/cache/cached-read.port.js';
import { Cached } from '../../src/infra/cache/cached.decorator.js';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TEST_REDIS_URL } from '../support/services.js';

const PREFIX = `t-fastpath-${randomUUID().slice(0, 8)}`;
const SECURITY_HEADERS = [
  'content-security-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-frame-options',
];

/** Lets a request through only with `x-probe-pass: yes`, and counts its calls. */
@Injectable()
class ProbeGuard implements CanActivate {
  static calls = 0;
  canActivate(context: ExecutionContext): boolean {
    ProbeGuard.calls++;
    return context.switchToHttp().getRequest<FastifyRequest>().headers['x-probe-pass'] === 'yes';
  }
}

// A test-only route: out of the OpenAPI document, so the response checker leaves it alone.
@ApiExcludeController()
@Controller({ path: 'fast-path-probe', version: '1' })
class ProbeController {
  @Get('open/:id')
  @Cached({ key: (request) => `probe:open:${(request.params as { id: string }).id}` })
  open(@Param('id') id: string) {
    return { id, version: 1 };
  }

  @Get('private/:id')
  @Header('cache-control', 'private, no-store')
  @Cached({ key: (request) => `probe:private:${(request.params as { id: string }).id}` })
  private(@Param('id') id: string) {
    return { id, version: 1 };
  }

  @Get('guarded/:id')
  @UseGuards(ProbeGuard)
  @Cached({ key: (request) => `probe:guarded:${(request.params as { id: string }).id}` })
  guarded(@Param('id') id: string) {
    return { id, version: 1 };
  }
}

@Module({ imports: [AppModule], controllers: [ProbeController], providers: [ProbeGuard] })
class ProbeAppModule {}

let db: TestDatabase;
let api: TestApp;
const redis = createClient({ url: TEST_REDIS_URL });

beforeAll(async () => {
  await redis.connect();
  db = await createTestDatabase('fastpath');
  api = await bootTestApp(
    {
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      CACHE_STORE: 'redis',
      API_KEYS: undefined,
      THROTTLE_LIMIT: '6',
      THROTTLE_TTL_SECONDS: '60',
      THROTTLE_BURST_LIMIT: '0',
      // A write tier (skipIf: not a write) must not keep GET routes off the fast path.
      THROTTLE_WRITE_LIMIT: '100',
      TRUST_PROXY: '1',
    },
    ProbeAppModule,
  );
});

afterEach(() => vi.restoreAllMocks());

afterAll(async () => {
  await api?.close();
  await db?.drop();
  for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}:*`, COUNT: 1000 }))
    if (keys.length > 0) await redis.del(keys);
  await redis.close();
});

/** A client of its own each time (a fresh address), so each test has the whole limit of 6. */
let clients = 0;
const client = () => ({ 'x-forwarded-for': `203.0.113.${++clients}` });

describe('cached-read fast path', () => {
  it('answers a hit without the Nest pipeline, with the same body and headers as the full path', async () => {
    const intercept = vi.spyOn(CacheAsideInterceptor.prototype, 'intercept');
    const path = `/v1/fast-path-probe/open/${randomUUID()}`;
    const headers = client();
    const miss = await api.request(path, { headers: { ...headers, 'x-request-id': 'fp-miss' } });
    expect(miss.headers.get('cache-status')).toBe('app; fwd=miss; stored');
    expect(intercept).toHaveBeenCalledTimes(1);

    const hit = await api.request(path, { headers: { ...headers, 'x-request-id': 'fp-hit' } });
    expect(intercept).toHaveBeenCalledTimes(1); // answered before Nest: the interceptor did not run
    expect(hit.status).toBe(200);
    expect(await hit.text()).toBe(await miss.text());
    expect(hit.headers.get('cache-status')).toMatch(/^app; hit; ttl=\d+$/);
    expect(hit.headers.get('etag')).toBe('"1"');
    expect(hit.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(hit.headers.get('x-request-id')).toBe('fp-hit');
    expect(hit.headers.get('ratelimit-policy')).toBe(miss.headers.get('ratelimit-policy'));
    expect(hit.headers.get('ratelimit')).toMatch(/^"default";r=\d+;t=\d+$/);
    for (const name of SECURITY_HEADERS) expect(hit.headers.get(name)).toBe(miss.headers.get(name));

    const notModified = await api.request(path, { headers: { ...headers, 'if-none-match': '"1"' } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('etag')).toBe('"1"');
    expect(await notModified.text()).toBe('');
    expect(intercept).toHaveBeenCalledTimes(1);
  });

  it('never answers a route that has a guard of its own: the guard runs on every hit', async () => {
    const path = `/v1/fast-path-probe/guarded/${randomUUID()}`;
    const headers = client();
    ProbeGuard.calls = 0;
    expect(
      (await api.request(path, { headers: { ...headers, 'x-probe-pass': 'yes' } })).headers.get('cache-status'),
    ).toBe('app; fwd=miss; stored');
    const hit = await api.request(path, { headers: { ...headers, 'x-probe-pass': 'yes' } });
    expect(hit.headers.get('cache-status')).toMatch(/^app; hit/);
    const refused = await api.request(path, { headers });
    expect(refused.status).toBe(403);
    await problemOf(refused);
    expect(ProbeGuard.calls).toBe(3);
  });

  it('counts hits against the rate limit exactly once and refuses past it with 429', async () => {
    const headers = client();
    const path = `/v1/fast-path-probe/open/${randomUUID()}`;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await api.request(path, { headers });
      statuses.push(response.status);
      expect(response.headers.get('ratelimit')).toMatch(new RegExp(`^"default";r=${5 - i};t=(59|60)$`));
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    const refused = await api.request(path, { headers });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await problemOf(refused)).detail).toContain('"default" limit of 6');
    // Another client is not affected.
    expect((await api.request(path, { headers: client() })).status).toBe(200);
  });

  it('never answers a route with a response-shaping decorator (@Header): its hits keep the header', async () => {
    const intercept = vi.spyOn(CacheAsideInterceptor.prototype, 'intercept');
    const path = `/v1/fast-path-probe/private/${randomUUID()}`;
    const headers = client();
    expect((await api.request(path, { headers })).headers.get('cache-status')).toBe('app; fwd=miss; stored');
    const hit = await api.request(path, { headers });
    expect(hit.headers.get('cache-status')).toMatch(/^app; hit/);
    expect(hit.headers.get('cache-control')).toBe('private, no-store');
    expect(intercept).toHaveBeenCalledTimes(2);
  });

  it('hands a miss on with its lookup (the store is read once per request) and the decision (counted once)', async () => {
    const headers = client();
    // The route's first request teaches the fast path about it.
    expect((await api.request(`/v1/products/${randomUUID()}`, { headers })).status).toBe(404);
    const lookup = vi.spyOn(CachedReadPort.prototype, 'read');
    const resolve = vi.spyOn(CacheService.prototype, 'resolve');
    const intercept = vi.spyOn(CacheAsideInterceptor.prototype, 'intercept');
    const missing = `/v1/products/${randomUUID()}`;
    const first = await api.request(missing, { headers });
    expect(first.status).toBe(404);
    expect(first.headers.get('cache-status')).toBe('app; fwd=miss; stored');
    const second = await api.request(missing, { headers });
    expect(second.status).toBe(404);
    expect(second.headers.get('cache-status')).toMatch(/^app; hit/);
    await problemOf(second);
    // Both went the full way (a cached 404 is rendered by Nest), each with one store read and one decision.
    expect(intercept).toHaveBeenCalledTimes(2);
    expect(lookup).toHaveBeenCalledTimes(2);
    // The interceptor resolved each with the fast path's lookup, not a read of its own.
    expect(resolve.mock.calls.map((call) => call[3] !== undefined)).toEqual([true, true]);
    expect(second.headers.get('ratelimit')).toMatch(/^"default";r=3;t=(59|60)$/);
  });
});
