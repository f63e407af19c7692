import { randomUUID } from 'node:crypto';
import { type CanActivate, Injectable, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../../src/app.module.js';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TEST_REDIS_URL } from '../support/services.js';

const PREFIX = `t-fastpath-global-${randomUUID().slice(0, 8)}`;

/** A global guard of the app's own (say, tenants): it must run on every request, hits included. */
@Injectable()
class CountingGlobalGuard implements CanActivate {
  static calls = 0;
  canActivate(): boolean {
    CountingGlobalGuard.calls++;
    return true;
  }
}

@Module({ imports: [AppModule], providers: [{ provide: APP_GUARD, useClass: CountingGlobalGuard }] })
class GlobalGuardAppModule {}

let db: TestDatabase;
let api: TestApp;
const redis = createClient({ url: TEST_REDIS_URL });

beforeAll(async () => {
  await redis.connect();
  db = await createTestDatabase('fastpathglobal');
  api = await bootTestApp(
    {
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      CACHE_STORE: 'redis',
      API_KEYS: undefined,
    },
    GlobalGuardAppModule,
  );
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
  for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}:*`, COUNT: 1000 }))
    if (keys.length > 0) await redis.del(keys);
  await redis.close();
});

describe('cached-read fast path with a global guard of the app', () => {
  it('answers no hit early: the global guard runs on every request', async () => {
    const created = await api.request('/v1/products', {
      method: 'POST',
      json: { sku: `G-${randomUUID().slice(0, 8)}`, name: 'Lamp', priceCents: 1200, currency: 'EUR' },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    CountingGlobalGuard.calls = 0;
    const statuses: Array<string | null> = [];
    for (let i = 0; i < 3; i++) statuses.push((await api.request(`/v1/products/${id}`)).headers.get('cache-status'));
    expect(statuses.slice(1).every((status) => status?.startsWith('app; hit'))).toBe(true);
    expect(CountingGlobalGuard.calls).toBe(3);
  });
});
