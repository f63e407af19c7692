import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { spawnService, startService } from '../support/service-process.js';

// These run the built service (dist/, built by `npm test`'s pretest step) as a real process.
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('process');
});

afterAll(async () => {
  await db?.drop();
});

describe('start-up configuration', () => {
  it('exits 1 with one message naming every bad variable', async () => {
    const service = await spawnService({ PORT: 'notaport', DATABASE_URL: 'nonsense' });
    const { code } = await service.exited;
    expect(code).toBe(1);
    const output = service.output();
    expect(output.match(/Invalid environment configuration/g)).toHaveLength(1);
    expect(output).toMatch(/PORT: expected an integer/);
    expect(output).toMatch(/DATABASE_URL: expected a postgres/);
  });

  it('refuses to start in production without API keys', async () => {
    const service = await spawnService({ NODE_ENV: 'production', DATABASE_URL: db.url });
    expect((await service.exited).code).toBe(1);
    expect(service.output()).toMatch(/API_KEYS: required when NODE_ENV=production/);
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM turns readiness to 503, keeps answering with Connection: close, then exits 0', async () => {
    const service = await startService({ DATABASE_URL: db.url, SHUTDOWN_DRAIN_MS: '1500' });
    const agent = new Agent({ keepAliveTimeout: 10_000 });
    try {
      const before = await request(`${service.url}/v1/products`, { dispatcher: agent });
      expect(before.statusCode).toBe(200);
      expect(before.headers.connection).not.toBe('close');
      await before.body.dump();

      service.child.kill('SIGTERM');
      let ready = 200;
      for (let attempt = 0; attempt < 50 && ready === 200; attempt++) {
        const response = await request(`${service.url}/health/ready`, { dispatcher: agent });
        ready = response.statusCode;
        await response.body.dump();
      }
      expect(ready).toBe(503);

      const during = await request(`${service.url}/v1/products`, { dispatcher: agent });
      expect(during.statusCode).toBe(200);
      expect(during.headers.connection).toBe('close');
      await during.body.dump();

      const { code } = await service.exited;
      expect(code).toBe(0);
      await expect(fetch(`${service.url}/health/live`)).rejects.toThrow();
    } finally {
      await agent.close();
      await service.stop('SIGKILL');
    }
  });

  it('writes the line of every request answered before SIGTERM (buffered log destination flushed on exit)', async () => {
    // Logged at info (NODE_ENV=test defaults to warn), as JSON lines on stdout.
    const service = await startService({
      DATABASE_URL: db.url,
      SHUTDOWN_DRAIN_MS: '0',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    });
    const agent = new Agent({ connections: 20 });
    const ids = Array.from({ length: 300 }, (_, i) => `sigterm-line-${i}`);
    try {
      // Fewer lines than fill one buffer stay behind the last ones: the signal comes right after.
      const statuses = await Promise.all(
        ids.map(async (id) => {
          const response = await request(`${service.url}/v1/products?limit=1`, {
            dispatcher: agent,
            headers: { 'x-request-id': id },
          });
          await response.body.dump();
          return response.statusCode;
        }),
      );
      expect(statuses.every((status) => status === 200)).toBe(true);
      service.child.kill('SIGTERM');
      expect((await service.exited).code).toBe(0);
      const logged = new Set<string>();
      for (const line of service.output().split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { reqId?: string; msg?: string };
        if (entry.reqId !== undefined && entry.msg?.startsWith('GET /v1/products?limit=1 200')) logged.add(entry.reqId);
      }
      expect(ids.filter((id) => !logged.has(id))).toEqual([]);
    } finally {
      await agent.close();
      await service.stop('SIGKILL');
    }
  });
});
