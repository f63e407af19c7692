import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchOptions } from './options.js';
import type { BenchDatabase } from './postgres.js';
import { type RunningProcess, sparePort, startProcess, UnavailableError } from './processes.js';
import type { BenchRedis } from './redis.js';
import type { ScenarioResult } from './report.js';

/** Where things are, relative to the repository root (the harness runs from bench/dist/bench). */
export const ROOT = new URL('../../../../', import.meta.url).pathname;
/** The service as `nest build` compiles it, into a folder of the bench's own (a parallel `nest build` empties dist/). */
export const SERVICE_ENTRY = process.env.BENCH_SERVICE_ENTRY ?? join(ROOT, 'bench/dist/service/main.js');
export const BASELINE_ENTRY = join(ROOT, 'bench/dist/bench/baselines/main.js');
export const CEILING_ENTRY = join(ROOT, 'bench/dist/bench/ceiling/http-ceiling.server.js');
export const RESULTS_DIR = join(ROOT, 'bench/results');

/**
 * The node flags production runs the service with, read from `npm run start:prod`
 * (`node <flags> dist/main.js`; the Dockerfile sets the same in NODE_OPTIONS), so the benchmark
 * measures the memory settings that ship.
 */
export function productionNodeFlags(): string[] {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  const words = (scripts['start:prod'] ?? '').split(/\s+/);
  // `--import <preload>` names a file of dist/: `telemetryPreload` gives the build's own.
  return words.filter((word, at) => word.startsWith('--') && word !== '--import' && words[at - 1] !== '--import');
}

/**
 * `--import <build>/telemetry.js`, as start:prod runs it (OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT
 * is set, else nothing); none for a build from before it existed.
 */
export function telemetryPreload(entry: string): string[] {
  const preload = resolve(dirname(entry), 'telemetry.js');
  // A URL: `--import` reads a bare relative path (`bench/dist/…`) as a package name.
  return existsSync(preload) ? ['--import', pathToFileURL(preload).href] : [];
}

/** Everything scenarios share during one run. */
export interface BenchContext {
  options: BenchOptions;
  db: BenchDatabase;
  redis: BenchRedis;
  /** Sent as `Authorization: Bearer` on writes (the service runs with NODE_ENV=production). */
  apiKey: string;
  webhookSecret: string;
  /** Seeded through the API; scenarios pick from these. */
  productIds: string[];
  /** A product body exactly as GET returns it (the HTTP ceiling answers with it). */
  sampleBody: string;
  results: ScenarioResult[];
  notes: string[];
  /** Database scans per uncached GET, measured on the cache-off instance (1 when not measured). */
  scansPerGet: number;
}

/** A run's context before any scenario: fresh secrets, nothing seeded or measured yet. */
export function newBenchContext(options: BenchOptions, db: BenchDatabase, redis: BenchRedis): BenchContext {
  return {
    options,
    db,
    redis,
    apiKey: randomBytes(24).toString('hex'),
    webhookSecret: `whsec_${randomBytes(24).toString('base64')}`,
    productIds: [],
    sampleBody: '{}',
    results: [],
    notes: [],
    scansPerGet: 1,
  };
}

/** Extra variables for every service instance: `BENCH_ENV_LOG_LEVEL=warn` passes `LOG_LEVEL=warn`. */
function passThroughEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('BENCH_ENV_') && value !== undefined) out[key.slice('BENCH_ENV_'.length)] = value;
  }
  return out;
}

/**
 * Starts one instance of the built service (`node <production flags> dist/main.js`) in production mode against the
 * run's database. All instances share one Redis key prefix, as a deployment does (a new prefix
 * looks like lost queue storage, and the outbox sweeper would hand recent events over again).
 * Throttling stays on, at limits the load never reaches.
 */
export async function startService(
  ctx: BenchContext,
  name: string,
  env: Record<string, string> = {},
  build: { entry?: string; node?: string } = {},
): Promise<RunningProcess> {
  const port = await sparePort();
  return startProcess({
    name,
    entry: build.entry ?? SERVICE_ENTRY,
    node: build.node,
    port,
    readyPath: '/health/ready',
    readyStatus: 200,
    logDir: RESULTS_DIR,
    nodeArgs: [
      ...productionNodeFlags(),
      ...telemetryPreload(build.entry ?? SERVICE_ENTRY),
      ...(ctx.options.profile
        ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS_DIR, 'profiles')}`, `--cpu-prof-name=${name}.cpuprofile`]
        : []),
    ],
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: ctx.db.url,
      REDIS_URL: ctx.redis.url,
      REDIS_KEY_PREFIX: `${ctx.redis.prefix}-svc`,
      API_KEYS: `bench:${ctx.apiKey}`,
      CACHE_STORE: 'redis',
      THROTTLE_LIMIT: '1000000',
      THROTTLE_TTL_SECONDS: '10',
      THROTTLE_BURST_LIMIT: '1000000',
      THROTTLE_BURST_TTL_SECONDS: '1',
      SHUTDOWN_DRAIN_MS: '0',
      ...passThroughEnv(),
      ...env,
    },
  });
}

/** Starts the stock baseline app (bench/baselines) on Fastify or Express. */
export async function startBaseline(
  ctx: BenchContext,
  name: string,
  platform: 'fastify' | 'express',
): Promise<RunningProcess> {
  if (platform === 'express') await installBaselinePackages();
  const port = await sparePort();
  return startProcess({
    name,
    entry: BASELINE_ENTRY,
    port,
    // Any answer means it listens (the baseline has no health route); a non-UUID id never reaches the database.
    readyPath: '/v1/products/ready-check',
    logDir: RESULTS_DIR,
    unavailableExitCode: 3,
    env: {
      NODE_ENV: 'production',
      PORT: String(port),
      BASELINE_PLATFORM: platform,
      DATABASE_URL: ctx.db.url,
      REDIS_URL: ctx.redis.url,
      CACHE_NAMESPACE: `${ctx.redis.prefix}:baseline-${platform}`,
    },
  });
}

/**
 * `npm ci` of bench/baselines' own lock (only @nestjs/platform-express and what it needs), once:
 * the Express baseline resolves it from there, so express never enters the project's tree.
 * Without the registry the row reports n/a.
 */
async function installBaselinePackages(): Promise<void> {
  const dir = join(ROOT, 'bench/baselines');
  if (existsSync(join(dir, 'node_modules/@nestjs/platform-express/package.json'))) return;
  const args = ['ci', '--prefix', dir, '--legacy-peer-deps', '--ignore-scripts', '--no-audit', '--no-fund'];
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('npm', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => resolve({ code: null, output: String(error) }));
    child.on('exit', (code) => resolve({ code, output }));
  });
  if (result.code !== 0) {
    throw new UnavailableError(
      `npm ci --prefix bench/baselines failed: ${result.output.trim().split('\n').at(-1) ?? ''}`,
    );
  }
}

export function randomItem<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await work(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return out;
}
