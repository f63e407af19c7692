import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { type BenchContext, newBenchContext, RESULTS_DIR, ROOT, startBaseline, startService } from './lib/context.js';
import { parseOptions } from './lib/options.js';
import { createBenchDatabase } from './lib/postgres.js';
import { type RunningProcess, stopAll, UnavailableError } from './lib/processes.js';
import { openBenchRedis } from './lib/redis.js';
import { type BenchReport, type ScenarioResult, type TargetCheck, textTable, updateDocs } from './lib/report.js';
import { httpCeiling, redisCeiling } from './scenarios/ceilings.js';
import { countingOnOff } from './scenarios/counting.js';
import { eventPath } from './scenarios/event-path.js';
import { getById, listPages, measureHttp, patchStock, patchStockIdempotent } from './scenarios/http.js';
import { ourQueue, rawBullmq } from './scenarios/queue.js';
import { baselineStampede, insertColdProducts, pressureStampede, serviceStampede } from './scenarios/stampede.js';

/** Scenario ids, in run order; `--only` takes a comma-separated subset. */
export const SCENARIOS = [
  'ceiling-http',
  'ceiling-redis',
  'cached',
  'list',
  'patch',
  'patch-idempotent',
  'counting',
  'uncached',
  'baseline-fastify',
  'baseline-express',
  'stampede',
  'events',
  'queue',
] as const;

const log = (message: string): void => {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const unknown = options.only.filter((id) => !(SCENARIOS as readonly string[]).includes(id));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  const selected = (id: (typeof SCENARIOS)[number]): boolean => options.only.length === 0 || options.only.includes(id);
  await mkdir(RESULTS_DIR, { recursive: true });
  const startedAt = new Date().toISOString();

  const db = await createBenchDatabase(options.postgresUrl);
  const redis = await openBenchRedis(options.redisUrl, options.redisDb);
  log(`database ${db.name}, redis ${redis.url} prefix ${redis.prefix}`);
  const ctx: BenchContext = newBenchContext(options, db, redis);
  const abort = (): void => {
    log('interrupted: stopping servers and cleaning up');
    void stopAll()
      .then(() => redis.cleanup())
      .then(() => db.drop())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', abort);

  if (options.profile)
    ctx.notes.push(
      '--profile: service instances ran under --cpu-prof (slower, more RSS); profiles in bench/results/profiles',
    );
  let machine: Record<string, string | number> = {};
  try {
    machine = await describeMachine(ctx);
    await runScenarios(ctx, selected);
  } finally {
    await stopAll();
    const cleanup = await redis.cleanup();
    if (cleanup.outsidePrefix.length > 0) {
      ctx.notes.push(`keys written outside REDIS_KEY_PREFIX (removed): ${cleanup.outsidePrefix.join(', ')}`);
    }
    await db.drop();
    process.off('SIGINT', abort);
  }

  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    complete: options.only.length === 0,
    machine,
    options: {
      duration: options.durationSec,
      warmup: options.warmupSec,
      connections: options.connections,
      products: options.products,
      stampede: `${options.stampedeKeys}×${options.stampedeConcurrency}`,
      eventRate: options.eventRate,
      queueJobs: options.queueJobs,
    },
    scenarios: withRatios(ctx.results),
    targets: [],
    notes: ctx.notes,
  };
  report.targets = checkTargets(report.scenarios, options.connections);
  await writeFile(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${textTable(report)}\n\nwritten: bench/results/latest.json\n`);
  if (report.complete && process.env.BENCH_UPDATE_DOCS !== '0') {
    if (await updateDocs(join(ROOT, 'docs/benchmarks.md'), report))
      process.stdout.write('updated: docs/benchmarks.md\n');
  }
}

/** Runs one scenario; a failure becomes a `failed` row with its reason (the run goes on). */
async function attempt(
  ctx: BenchContext,
  id: string,
  label: string,
  work: () => Promise<ScenarioResult | ScenarioResult[]>,
): Promise<void> {
  log(`${label} …`);
  try {
    const out = await work();
    for (const result of Array.isArray(out) ? out : [out]) {
      ctx.results.push(result);
      log(
        `  ${result.label}: ${result.status === 'ok' ? `${result.rate} ${result.unit}, p99 ${result.p99 ?? '-'} ms` : `${result.status} (${result.reason})`}`,
      );
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    log(`  ${label} failed: ${error instanceof Error ? error.message : String(error)}`);
    ctx.results.push({ id, label, status: 'failed', reason, unit: 'req/s' });
  }
}

async function runScenarios(ctx: BenchContext, selected: (id: (typeof SCENARIOS)[number]) => boolean): Promise<void> {
  const { options } = ctx;

  // Instance A (cache on): seeds the catalogue, then serves the cached scenarios.
  log(`starting the service and seeding ${options.products} products`);
  const served = await startService(ctx, 'service-cached');
  ctx.productIds = await seed(ctx);
  const sample = await fetch(`${served.url}/v1/products/${ctx.productIds[0]}`);
  ctx.sampleBody = await sample.text();

  if (selected('ceiling-http')) await attempt(ctx, 'ceiling-http', 'HTTP ceiling', () => httpCeiling(ctx));
  if (selected('ceiling-redis')) await attempt(ctx, 'ceiling-redis', 'Redis ceiling', () => redisCeiling(ctx));
  if (selected('cached')) {
    await attempt(
      ctx,
      'cached',
      'cached GET by id',
      async () =>
        (await measureHttp(ctx, served, 'cached', 'cached GET /v1/products/:id', getById(ctx.productIds))).result,
    );
  }
  if (selected('list')) {
    await attempt(
      ctx,
      'list',
      'cached list',
      async () => (await measureHttp(ctx, served, 'list', 'cached GET /v1/products?limit=20', listPages)).result,
    );
  }
  if (selected('patch')) {
    await attempt(
      ctx,
      'patch',
      'PATCH',
      async () =>
        (
          await measureHttp(
            ctx,
            served,
            'patch',
            'PATCH /v1/products/:id (outbox + write-through)',
            patchStock(ctx.productIds, ctx.apiKey),
          )
        ).result,
    );
  }
  if (selected('patch-idempotent')) {
    await attempt(
      ctx,
      'patch-idempotent',
      'PATCH with Idempotency-Key',
      async () =>
        (
          await measureHttp(
            ctx,
            served,
            'patch-idempotent',
            'PATCH /v1/products/:id with a new Idempotency-Key each',
            patchStockIdempotent(ctx.productIds, ctx.apiKey),
          )
        ).result,
    );
    notePatchKeyCost(ctx);
  }
  // Let the PATCHes' events be dispatched and their jobs run before stopping, so none is left for
  // a later instance (the event-path one would deliver them as webhooks during its measurement).
  await waitForQuiet(ctx, served);
  await served.stop();

  // Popularity's view counting on the cached read: off, then on, on fresh instances over the warm cache.
  if (selected('counting')) await attempt(ctx, 'counting', 'view counting off/on', () => countingOnOff(ctx));
  if (selected('uncached')) await attempt(ctx, 'uncached', 'uncached GET by id', () => uncached(ctx));
  for (const platform of ['fastify', 'express'] as const) {
    if (selected(`baseline-${platform}`))
      await attempt(ctx, `baseline-${platform}`, `baseline on ${platform}`, () => baseline(ctx, platform));
  }
  if (selected('stampede')) {
    const cold = await insertColdProducts(ctx, options.stampedeKeys);
    await attempt(ctx, 'stampede', 'stampede', () => serviceStampede(ctx, cold));
    await attempt(ctx, 'baseline-stampede', 'baseline stampede', () => baselineStampede(ctx, cold));
    const slow = await insertColdProducts(ctx, options.stampedeKeys);
    await attempt(ctx, 'stampede-pressure', 'stampede under pressure', () => pressureStampede(ctx, slow));
  }
  if (selected('events')) await attempt(ctx, 'events', 'event path', () => eventPath(ctx));
  if (selected('queue')) {
    await attempt(ctx, 'queue-raw-1', 'raw BullMQ', () => rawBullmq(ctx, 1));
    await attempt(ctx, 'queue', 'our queue path', () => ourQueue(ctx));
    await attempt(ctx, 'queue-raw-2', 'raw BullMQ again', () => rawBullmq(ctx, 2));
  }
}

/** What the Idempotency-Key costs a PATCH in this run: throughput ratio and median latency difference. */
function notePatchKeyCost(ctx: BenchContext): void {
  const plain = ctx.results.find((r) => r.id === 'patch' && r.status === 'ok');
  const keyed = ctx.results.find((r) => r.id === 'patch-idempotent' && r.status === 'ok');
  if (!plain?.rate || !keyed?.rate || plain.p50 == null || keyed.p50 == null) return;
  ctx.notes.push(
    `Idempotency-Key on PATCH: ${(keyed.rate / plain.rate).toFixed(2)}× the throughput without it, p50 ${(keyed.p50 - plain.p50).toFixed(2)} ms more`,
  );
}

/** Waits (at most 20 s) until every outbox event is dispatched and no queue has waiting or active jobs (per /metrics). */
async function waitForQuiet(ctx: BenchContext, server: RunningProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const pending = await ctx.db
      .query<{ n: string }>('SELECT count(*) AS n FROM outbox_events WHERE dispatched_at IS NULL')
      .then(([row]) => Number(row?.n ?? 0))
      .catch(() => 0); // No outbox table in this build: nothing to wait for.
    const metrics = await fetch(`${server.url}/metrics`)
      .then((r) => r.text())
      .catch(() => '');
    const queued = [...metrics.matchAll(/^queue_depth\{[^}]*state="(?:waiting|active)"[^}]*\} (\d+)/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    if (pending === 0 && queued === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  ctx.notes.push('events or jobs were still pending 20 s after the PATCH scenario');
}

/**
 * Seeds the catalogue with one INSERT (after the first instance has run the migrations). Not
 * through the API: 1000 POSTs would leave 1000 domain events for the workers to process while
 * the first scenarios are measured.
 */
async function seed(ctx: BenchContext): Promise<string[]> {
  const rows = await ctx.db.runOnce<{ id: string }>(
    `INSERT INTO products (sku, name, description, price_cents, currency, stock, active)
     SELECT 'BENCH-' || lpad(n::text, 5, '0'), 'Bench product ' || n,
            'A product seeded by the benchmark, with a description of a length typical of a catalogue entry.',
            100 + n, 'EUR', n % 100, n % 5 <> 0
     FROM generate_series(1, $1) AS n RETURNING id`,
    [ctx.options.products],
  );
  return rows.map((r) => r.id);
}

/**
 * The same GET with the cache off (CACHE_STORE=none). Also calibrates how many table scans one
 * database read of a product costs, which the stampede scenario divides by.
 */
async function uncached(ctx: BenchContext): Promise<ScenarioResult> {
  await ctx.db.waitForOtherConnectionsToClose();
  const before = await ctx.db.tableScans('products');
  const server = await startService(ctx, 'service-uncached', { CACHE_STORE: 'none' });
  try {
    const { result, load } = await measureHttp(
      ctx,
      server,
      'uncached',
      'uncached GET /v1/products/:id (CACHE_STORE=none)',
      getById(ctx.productIds),
    );
    await server.stop();
    await ctx.db.waitForOtherConnectionsToClose();
    const scans = (await ctx.db.tableScans('products')) - before;
    const reads = load.sent + 1;
    if (scans > 0) ctx.scansPerGet = Math.round((scans / reads) * 100) / 100;
    result.details = { ...result.details, scansPerGet: ctx.scansPerGet };
    return result;
  } finally {
    await server.stop();
  }
}

/** The stock baseline: cached GET (CacheInterceptor + @keyv/redis) and its plain PATCH. */
async function baseline(ctx: BenchContext, platform: 'fastify' | 'express'): Promise<ScenarioResult[]> {
  const label = platform === 'fastify' ? 'Fastify' : 'Express';
  let server: RunningProcess;
  try {
    server = await startBaseline(ctx, `baseline-${platform}`, platform);
  } catch (error) {
    if (!(error instanceof UnavailableError)) throw error;
    const reason = error.message.trim().split('\n').at(-1) ?? 'unavailable';
    return [
      { id: `baseline-${platform}`, label: `baseline (${label}): cached GET`, status: 'n/a', reason, unit: 'req/s' },
      {
        id: `baseline-${platform}-patch`,
        label: `baseline (${label}): plain PATCH`,
        status: 'n/a',
        reason,
        unit: 'req/s',
      },
    ];
  }
  try {
    const get = await measureHttp(
      ctx,
      server,
      `baseline-${platform}`,
      `baseline (${label}): cached GET, stock CacheInterceptor`,
      getById(ctx.productIds),
    );
    const patch = await measureHttp(
      ctx,
      server,
      `baseline-${platform}-patch`,
      `baseline (${label}): plain PATCH`,
      patchStock(ctx.productIds),
    );
    return [get.result, patch.result];
  } finally {
    await server.stop();
  }
}

/** Ratios within this run: to the matching ceiling and to the matching baseline row. */
function withRatios(results: ScenarioResult[]): ScenarioResult[] {
  const rate = (id: string): number | undefined => {
    const row = results.find((r) => r.id === id && r.status === 'ok');
    return row?.rate;
  };
  const div = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined || b === 0 ? undefined : Math.round((a / b) * 100) / 100;
  const httpCeilingRate = rate('ceiling-http');
  const baselineOf: Record<string, [string, string]> = {
    cached: ['baseline-fastify', 'baseline-express'],
    patch: ['baseline-fastify-patch', 'baseline-express-patch'],
  };
  return results.map((r) => {
    if (r.status !== 'ok') return r;
    const out = { ...r };
    if (r.unit === 'req/s' && r.id !== 'ceiling-http') out.ceilingRatio = div(r.rate, httpCeilingRate);
    if (r.id === 'queue') {
      const raws = [rate('queue-raw-1'), rate('queue-raw-2')].filter((v): v is number => v !== undefined);
      out.ceilingRatio = div(r.rate, raws.length > 0 ? Math.max(...raws) : undefined);
    }
    const pair = baselineOf[r.id];
    if (pair) out.baselineRatio = { fastify: div(r.rate, rate(pair[0])), express: div(r.rate, rate(pair[1])) };
    return out;
  });
}

/** The issue's targets, judged on this run's figures. */
function checkTargets(results: ScenarioResult[], connections: number): TargetCheck[] {
  // A row with errors cannot meet a target: failed requests would make any rate or count look fine.
  const row = (id: string): ScenarioResult | undefined =>
    results.find((r) => r.id === id && r.status === 'ok' && (r.errors ?? 0) === 0);
  const judge = (
    target: string,
    value: number | undefined | null,
    ok: (v: number) => boolean,
    show: (v: number) => string,
  ): TargetCheck =>
    value === undefined || value === null
      ? { target, measured: 'not measured', verdict: 'n/a' }
      : { target, measured: show(value), verdict: ok(value) ? 'met' : 'missed' };
  const x = (v: number): string => `${v.toFixed(2)}×`;
  const cached = row('cached');
  const ourRss = results.filter(
    (r) => ['cached', 'list', 'patch', 'uncached', 'stampede', 'events'].includes(r.id) && r.rssMb !== undefined,
  );
  const checks: TargetCheck[] = [
    judge('cached GET ≥ 3× baseline (Express)', cached?.baselineRatio?.express, (v) => v >= 3, x),
    judge('cached GET ≥ 1.2× baseline (Fastify)', cached?.baselineRatio?.fastify, (v) => v >= 1.2, x),
    judge(
      'cached GET ≥ 60% of the node:http ceiling',
      cached?.ceilingRatio,
      (v) => v >= 0.6,
      (v) => `${Math.round(v * 100)}%`,
    ),
    judge(
      `cached GET p99 ≤ 5 ms at ${connections} connections`,
      cached?.p99,
      (v) => v <= 5,
      (v) => `${v} ms`,
    ),
    judge(
      'stampede ≤ 1 database read per cold key',
      row('stampede')?.rate,
      (v) => v <= 1,
      (v) => `${v} reads/key`,
    ),
    judge(
      'stampede (500 ms loads, cores saturated) ≤ 1 database read per cold key',
      row('stampede-pressure')?.rate,
      (v) => v <= 1,
      (v) => `${v} reads/key`,
    ),
    judge('PATCH ≥ 0.8× baseline PATCH (Fastify)', row('patch')?.baselineRatio?.fastify, (v) => v >= 0.8, x),
    judge('PATCH ≥ 0.8× baseline PATCH (Express)', row('patch')?.baselineRatio?.express, (v) => v >= 0.8, x),
    judge(
      'commit → webhook p50 ≤ 20 ms',
      row('events')?.p50,
      (v) => v <= 20,
      (v) => `${v} ms`,
    ),
    judge(
      'commit → webhook p99 ≤ 100 ms',
      row('events')?.p99,
      (v) => v <= 100,
      (v) => `${v} ms`,
    ),
    judge(
      'queue path ≥ 80% of raw BullMQ',
      row('queue')?.ceilingRatio,
      (v) => v >= 0.8,
      (v) => `${Math.round(v * 100)}%`,
    ),
    judge(
      'service RSS ≤ 200 MB (read as MiB) during the run',
      ourRss.length > 0 ? Math.max(...ourRss.map((r) => r.rssMb!)) : undefined,
      (v) => v <= 200,
      (v) => `peak ${v} MiB`,
    ),
  ];
  return checks;
}

async function describeMachine(ctx: BenchContext): Promise<Record<string, string | number>> {
  const [pgVersion] = await ctx.db.query<{ server_version: string }>('SHOW server_version');
  const info = await ctx.redis.client.info('server');
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout.
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    os: `Linux ${release()}`,
    node: process.versions.node,
    postgres: pgVersion?.server_version.split(' ')[0] ?? 'unknown',
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    commit,
  };
}

main().catch(async (error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await stopAll();
  process.exit(1);
});
