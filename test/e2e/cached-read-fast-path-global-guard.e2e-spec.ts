import { randomUUID } from 'node:crypto';
import { type CanActivate, Injectable, Module, Scope } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../../src/app.module.js';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TEST_REDIS_URL } from '../support/services.js';

const PREFIX = `t-fastpath-global-${randomUUID().slice(0, 8)}`;
let calls = 0;

/** A global guard of the app's own (say, tenants): it must run on every request, hits included. */
@Injectable()
class CountingGlobalGuard implements CanActivate {
  canActivate(): boolean {
    calls++;
    return true;
  }
}

/** The same, request-scoped: Nest keeps such enhancers apart from the providers. */
@Injectable({ scope: Scope.REQUEST })
class RequestScopedGlobalGuard extends CountingGlobalGuard {}

@Module({ imports: [AppModule], providers: [{ provide: APP_GUARD, useClass: CountingGlobalGuard }] })
class GlobalGuardAppModule {}

@Module({ imports: [AppModule], providers: [{ provide: APP_GUARD, useClass: RequestScopedGlobalGuard }] })
class RequestScopedGuardAppModule {}

const redis = createClient({ url: TEST_REDIS_URL });
beforeAll(() => redis.connect());
afterAll(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}:*`, COUNT: 1000 }))
    if (keys.length > 0) await redis.del(keys);
  await redis.close();
});

describe.each([
  { scope: 'a singleton', module: GlobalGuardAppModule },
  { scope: 'a request-scoped', module: RequestScopedGuardAppModule },
])('cached-read fast path with $scope global guard of the app', ({ module }) => {
  let db: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase('fastpathglobal');
    api = await bootTestApp(
      {
        DATABASE_URL: db.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: `${PREFIX}-${randomUUID().slice(0, 4)}`,
        CACHE_STORE: 'redis',
        API_KEYS: undefined,
      },
      module,
    );
  });

  afterAll(async () => {
    await api?.close();
    await db?.drop();
  });

  it('answers no hit early: the global guard runs on every request', async () => {
    const created = await api.request('/v1/products', {
      method: 'POST',
      json: { sku: `G-${randomUUID().slice(0, 8)}`, name: 'Lamp', priceCents: 1200, currency: 'EUR' },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    calls = 0;
    const statuses: Array<string | null> = [];
    for (let i = 0; i < 3; i++) statuses.push((await api.request(`/v1/products/${id}`)).headers.get('cache-status'));
    expect(statuses.slice(1).every((status) => status?.startsWith('app; hit'))).toBe(true);
    expect(calls).toBe(3);
  });
});
