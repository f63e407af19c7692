import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShutdownState } from '../../src/infra/http/shutdown-state.js';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RedisServer } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/** Polls until `check` passes (the app notices an outage or a recovery on its next probe). */
async function eventually(check: () => Promise<void>, attempts = 60): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await check();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await sleep(250);
    }
  }
}

describe('health', () => {
  let database: TestDatabase;
  let redis: RedisServer;
  let postgres: TcpProxy;
  let app: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase('health');
    redis = await RedisServer.start();
    const target = new URL(database.url);
    // The app reaches Postgres through a proxy this suite can cut, to make the database unreachable.
    postgres = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    app = await bootTestApp({
      DATABASE_URL: postgres.rewrite(database.url),
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `health-${process.pid}`,
      // This suite is about readiness; the queue's own outage behaviour is tested with the queue.
      QUEUE_DRIVER: 'memory',
    });
  });

  afterAll(async () => {
    await app?.close();
    await postgres?.stop();
    await redis?.stop();
    await database?.drop();
  });

  const expectReady = async (): Promise<void> => {
    const response = await app.request('/health/ready');
    expect(response.status).toBe(200);
    // Other modules may add their own components (e.g. the queue); these two are this suite's.
    expect(await response.json()).toEqual({
      status: 'ok',
      details: expect.objectContaining({ database: { status: 'up' }, redis: { status: 'up' } }),
    });
  };

  it('answers live and ready while everything is up', async () => {
    const live = await app.request('/health/live');
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    await expectReady();
  });

  it('turns ready to 503 naming redis while its Redis is down, and back when it returns', async () => {
    await redis.stop();
    const response = await app.request('/health/ready');
    expect(response.status).toBe(503);
    const problem = await problemOf(response);
    expect(problem.detail).toMatch(/redis/);
    expect(problem.detail).not.toMatch(/database/);
    expect((problem as unknown as { details: unknown }).details).toEqual(
      expect.objectContaining({ database: { status: 'up' }, redis: { status: 'down' } }),
    );
    // Liveness is about the process only.
    expect((await app.request('/health/live')).status).toBe(200);

    await redis.resume();
    await eventually(expectReady);
  });

  it('turns ready to 503 naming the database while Postgres is unreachable, and back', async () => {
    await postgres.stop();
    const response = await app.request('/health/ready');
    expect(response.status).toBe(503);
    const text = await response.clone().text();
    const problem = await problemOf(response);
    expect(problem.detail).toMatch(/database/);
    expect(problem.detail).not.toMatch(/redis/);
    expect((problem as unknown as { details: unknown }).details).toEqual(
      expect.objectContaining({ database: { status: 'down' }, redis: { status: 'up' } }),
    );
    // Driver messages stay in the logs.
    expect(text).not.toMatch(/ECONNREFUSED|connect|timeout|terminat/i);

    await postgres.resume();
    await eventually(expectReady);
  });

  it('names both components when both are down', async () => {
    await postgres.stop();
    await redis.stop();
    const problem = await problemOf(await app.request('/health/ready'));
    expect(problem.detail).toMatch(/database/);
    expect(problem.detail).toMatch(/redis/);
    await postgres.resume();
    await redis.resume();
    await eventually(expectReady);
  });

  it('answers 503 while the service drains for shutdown', async () => {
    app.app.get(ShutdownState).beginDraining();
    const problem = await problemOf(await app.request('/health/ready'));
    expect(problem.status).toBe(503);
    expect(problem.detail).toMatch(/shutting down/);
  });
});
