import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { type BenchContext, startBaseline, startService } from '../lib/context.js';
import type { RunningProcess } from '../lib/processes.js';
import type { ScenarioResult } from '../lib/report.js';
import { CpuBurner } from '../../test/support/cpu-burner.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { LatencyRecorder } from '../lib/stats.js';

/**
 * Inserts cold products straight into the table (not through the API), so no write-through
 * or earlier read has put them in any cache.
 */
export async function insertColdProducts(ctx: BenchContext, count: number): Promise<string[]> {
  const tag = randomBytes(3).toString('hex');
  const rows = await ctx.db.runOnce<{ id: string }>(
    `INSERT INTO products (sku, name, description, price_cents, currency, stock)
     SELECT 'COLD-' || $1 || '-' || n, 'Cold product ' || n, 'Inserted behind the service''s back', 1000 + n, 'EUR', n
     FROM generate_series(1, $2) AS n RETURNING id`,
    [tag, count],
  );
  return rows.map((r) => r.id);
}

interface StampedeOutcome {
  readsPerKey: number;
  scans: number;
  requests: number;
  errors: number;
  cacheStatus: Record<string, number>;
  p50: number | null;
  p99: number | null;
  rssMb: number;
}

/**
 * `stampedeConcurrency` simultaneous GETs of each cold id, split evenly over `servers`, one id
 * after another. Counts the database reads per key from pg_stat_user_tables: the servers are
 * stopped before the "after" reading, because a backend publishes its counters when it exits.
 */
async function stampede(
  ctx: BenchContext,
  start: () => Promise<RunningProcess[]>,
  ids: string[],
  pressure?: { proxy: TcpProxy; latencyMs: number },
): Promise<StampedeOutcome> {
  const open = await ctx.db.waitForOtherConnectionsToClose();
  if (open > 0) throw new Error(`${open} connections from earlier instances are still open; counts would be wrong`);
  const before = await ctx.db.tableScans('products');
  const servers = await start();
  let burner: CpuBurner | undefined;
  const concurrency = ctx.options.stampedeConcurrency;
  const agent = new Agent({ connections: Math.ceil(concurrency / servers.length), pipelining: 1 });
  const recorder = new LatencyRecorder();
  const cacheStatus: Record<string, number> = {};
  let errors = 0;
  let requests = 0;
  try {
    // Open every connection first, so the cold GETs of a key really arrive together.
    await Promise.all(
      Array.from({ length: concurrency }, (_, i) =>
        request(`${servers[i % servers.length]!.url}/health/live`, { dispatcher: agent }).then((r) => r.body.dump()),
      ),
    );
    if (pressure) {
      // After start-up (migrations, pool warm-up): from here every query round trip is slow, and both cores busy.
      pressure.proxy.setLatency(pressure.latencyMs);
      burner = CpuBurner.start();
    }
    for (const id of ids) {
      await Promise.all(
        Array.from({ length: concurrency }, async (_, i) => {
          const started = performance.now();
          try {
            const response = await request(`${servers[i % servers.length]!.url}/v1/products/${id}`, {
              dispatcher: agent,
            });
            await response.body.dump();
            recorder.record(performance.now() - started);
            if (response.statusCode !== 200) errors++;
            const status = String(response.headers['cache-status'] ?? '(none)').replace(/;\s*(key|ttl)=[^;]*/g, '');
            cacheStatus[status] = (cacheStatus[status] ?? 0) + 1;
          } catch {
            errors++;
          }
          requests++;
        }),
      );
    }
  } finally {
    await burner?.stop();
    pressure?.proxy.setLatency(0);
    await agent.close();
    for (const server of servers) await server.sampleRss();
    await Promise.all(servers.map((s) => s.stop()));
  }
  await ctx.db.waitForOtherConnectionsToClose();
  await sleep(200);
  const scans = (await ctx.db.tableScans('products')) - before;
  const { p50, p99 } = recorder.summary();
  return {
    readsPerKey: Math.round((scans / ctx.scansPerGet / ids.length) * 100) / 100,
    scans,
    requests,
    errors,
    cacheStatus,
    p50,
    p99,
    rssMb: Math.max(...servers.map((s) => s.peakRssMb)),
  };
}

/** Our service: two instances sharing one Redis. */
export async function serviceStampede(ctx: BenchContext, ids: string[]): Promise<ScenarioResult> {
  const outcome = await stampede(
    ctx,
    () => Promise.all([startService(ctx, 'stampede-1'), startService(ctx, 'stampede-2')]),
    ids,
  );
  return toResult(
    'stampede',
    `stampede: ${ids.length} cold ids × ${ctx.options.stampedeConcurrency} GETs, 2 instances`,
    outcome,
  );
}

/**
 * The same over a slow database and a busy machine (issue 14): PostgreSQL behind a proxy adding
 * `latencyMs` each way (a query round trip, i.e. the load, ~500 ms), both cores saturated by a CPU
 * burner, the service at its shipped cache settings.
 */
export async function pressureStampede(ctx: BenchContext, ids: string[], latencyMs = 250): Promise<ScenarioResult> {
  const target = new URL(ctx.db.url);
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  try {
    const env = { DATABASE_URL: proxy.rewrite(ctx.db.url) };
    const outcome = await stampede(
      ctx,
      () => Promise.all([startService(ctx, 'stampede-pressure-1', env), startService(ctx, 'stampede-pressure-2', env)]),
      ids,
      { proxy, latencyMs },
    );
    const result = toResult(
      'stampede-pressure',
      `stampede, ${2 * latencyMs} ms loads, cores saturated: ${ids.length} cold ids × ${ctx.options.stampedeConcurrency} GETs, 2 instances`,
      outcome,
    );
    return {
      ...result,
      notes: [
        ...(result.notes ?? []),
        `database behind a proxy adding ${latencyMs} ms each way; one busy process per core during the GETs`,
      ],
    };
  } finally {
    await proxy.stop();
  }
}

/** The stock baseline (Fastify), also two instances sharing one Redis. */
export async function baselineStampede(ctx: BenchContext, ids: string[]): Promise<ScenarioResult> {
  const outcome = await stampede(
    ctx,
    () =>
      Promise.all([
        startBaseline(ctx, 'baseline-stampede-1', 'fastify'),
        startBaseline(ctx, 'baseline-stampede-2', 'fastify'),
      ]),
    ids,
  );
  return toResult('baseline-stampede', `baseline (Fastify) stampede, same ids`, outcome);
}

function toResult(id: string, label: string, outcome: StampedeOutcome): ScenarioResult {
  return {
    id,
    label,
    status: 'ok',
    unit: 'reads/key',
    rate: outcome.readsPerKey,
    p50: outcome.p50,
    p99: outcome.p99,
    errors: outcome.errors,
    rssMb: outcome.rssMb,
    notes: [
      `Cache-Status seen: ${Object.entries(outcome.cacheStatus)
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ')}`,
    ],
    details: { scans: outcome.scans, requests: outcome.requests, cacheStatus: outcome.cacheStatus },
  };
}
