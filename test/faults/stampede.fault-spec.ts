import { createClient } from '@redis/client';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBurner } from '../support/cpu-burner.js';
import type { ServiceProcess } from '../support/service-process.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { FaultStack } from './support/fault-stack.js';

// Scenario: stampede under pressure (issue 14). Two instances share one Redis; 200 concurrent
// GETs of each of 10 cold products (inserted behind the service's back), split over both
// instances. PostgreSQL is made slow from outside the service: a TCP proxy in front of it adds
// 250 ms each way, so every query round trip (the load) takes ~500 ms. Runs once on the loaded
// machine as it is and once with both cores saturated by a CPU burner, at the shipped cache
// settings. Must hold: at most one database read per cold key, and every answer a 200.
//
// Reads are counted by PostgreSQL (scans of the products' primary key: a get-by-id is one);
// the instances are stopped before the count, since a backend publishes its
// counters when it exits.

const KEYS = 10;
const CONCURRENCY = 200;
const ONE_WAY_LATENCY_MS = 250;

let stack: FaultStack;
let proxy: TcpProxy;
let redis: ReturnType<typeof createClient> | undefined;

beforeAll(async () => {
  stack = await FaultStack.start({ redis: true });
  proxy = await TcpProxy.start({ host: '127.0.0.1', port: stack.postgres.port });
  redis = createClient({ url: stack.redis!.url });
  await redis.connect();
});

afterAll(async () => {
  await redis?.close();
  await stack?.close();
  await proxy?.stop();
});

/** Scans of the products' primary key: a get-by-id is one. (Start-up's own queries touch the table too, not this index.) */
async function productKeyScans(): Promise<{ pkey: number; other: number }> {
  await stack.query('SELECT pg_stat_clear_snapshot()');
  const rows = await stack.query<{ pkey: string; total: string }>(
    `SELECT (SELECT COALESCE(sum(idx_scan), 0) FROM pg_stat_user_indexes i JOIN pg_constraint c ON c.conindid = i.indexrelid
              WHERE c.contype = 'p' AND c.conrelid = 'products'::regclass) AS pkey,
            (SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'products') AS total`,
  );
  const pkey = Number(rows[0]?.pkey ?? 0);
  return { pkey, other: Number(rows[0]?.total ?? 0) - pkey };
}

async function redisCommands(): Promise<number> {
  const info = await redis!.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
}

/** Only the harness's own connections left on the database, so every backend's counters are published. */
async function waitForInstanceConnectionsToClose(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const rows = await stack.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = 'postgres' AND pid <> pg_backend_pid()`,
    );
    if (Number(rows[0]!.n) <= 1) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Figures {
  reads: number;
  /** Other scans of the table in the window (start-up's queries, published when the instances exit). */
  otherScans: number;
  readsPerKey: number;
  answers: number;
  non2xx: number;
  statuses: Record<string, number>;
  cacheStatus: Record<string, number>;
  seconds: number;
  redisCommandsPerKey: number;
}

async function stampede(pressure: boolean): Promise<Figures> {
  proxy.setLatency(0);
  // Shipped cache settings: only the database (through the proxy) and the stack's servers are set.
  const env = { DATABASE_URL: proxy.rewrite(stack.databaseUrl) };
  const instances: ServiceProcess[] = [await stack.startInstance(env), await stack.startInstance(env)];
  // Inserted after the instances started (they migrate), straight into the table: no cache has them.
  const rows = await stack.query<{ id: string }>(
    `INSERT INTO products (sku, name, description, price_cents, currency, stock)
     SELECT 'COLD-' || $1 || '-' || n, 'Cold ' || n, 'inserted behind the service''s back', 1000 + n, 'EUR', n
     FROM generate_series(1, $2) AS n RETURNING id`,
    [pressure ? 'burn' : 'calm', KEYS],
  );
  const ids = rows.map((row) => row.id);
  const agent = new Agent({ connections: CONCURRENCY, pipelining: 1 });
  const statuses: Record<string, number> = {};
  const cacheStatus: Record<string, number> = {};
  let answers = 0;
  const burner = pressure ? CpuBurner.start() : undefined;
  let seconds = 0;
  let commands = 0;
  let before = { pkey: 0, other: 0 };
  try {
    // Every connection open first, so the GETs of a key really arrive together.
    await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, i) =>
        request(`${instances[i % 2]!.url}/health/live`, { dispatcher: agent }).then((r) => r.body.dump()),
      ),
    );
    before = await productKeyScans();
    proxy.setLatency(ONE_WAY_LATENCY_MS);
    const commandsBefore = await redisCommands();
    const started = performance.now();
    for (const id of ids) {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, i) => {
          let status: string;
          try {
            const response = await request(`${instances[i % 2]!.url}/v1/products/${id}`, { dispatcher: agent });
            await response.body.dump();
            status = String(response.statusCode);
            const cache = String(response.headers['cache-status'] ?? '(none)').replace(/; ttl=-?\d+/, '');
            cacheStatus[cache] = (cacheStatus[cache] ?? 0) + 1;
          } catch (error) {
            status = (error as { code?: string }).code ?? 'error';
          }
          statuses[status] = (statuses[status] ?? 0) + 1;
          answers++;
        }),
      );
    }
    seconds = Math.round((performance.now() - started) / 100) / 10;
    commands = (await redisCommands()) - commandsBefore;
  } finally {
    await burner?.stop();
    proxy.setLatency(0);
    await agent.close();
    for (const instance of instances) await instance.stop('SIGTERM');
    stack.services.length = 0;
  }
  await waitForInstanceConnectionsToClose();
  const after = await productKeyScans();
  const reads = after.pkey - before.pkey;
  return {
    reads,
    otherScans: after.other - before.other,
    readsPerKey: reads / KEYS,
    answers,
    non2xx: answers - (statuses['200'] ?? 0),
    statuses,
    cacheStatus,
    seconds,
    redisCommandsPerKey: Math.round(commands / KEYS),
  };
}

describe('stampede: 200 concurrent GETs per cold key over 2 instances, loads of ~500 ms', () => {
  for (const pressure of [false, true]) {
    it(`costs at most one database read per key and no error${pressure ? ', with both cores saturated' : ''}`, async () => {
      const figures = await stampede(pressure);
      console.log(`[faults:stampede${pressure ? ':burn' : ''}] ${JSON.stringify(figures)}`);
      expect(figures.answers).toBe(KEYS * CONCURRENCY);
      expect(figures.non2xx, JSON.stringify(figures.statuses)).toBe(0);
      expect(figures.reads).toBeGreaterThan(0);
      expect(figures.readsPerKey).toBeLessThanOrEqual(1);
    });
  }
});
