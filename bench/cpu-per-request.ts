import { mkdir, readdir, readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  BASELINE_ENTRY,
  type BenchContext,
  newBenchContext,
  RESULTS_DIR,
  startBaseline,
  startService,
} from './lib/context.js';
import { runLoad } from './lib/load.js';
import { parseOptions } from './lib/options.js';
import { createBenchDatabase } from './lib/postgres.js';
import { type RunningProcess, stopAll } from './lib/processes.js';
import { openBenchRedis } from './lib/redis.js';

/**
 * Service CPU per cached GET for several builds of the service (or Node versions), compared in
 * one run: every instance runs side by side and the load goes to one at a time, in an order that
 * rotates each round, so a change in what else the machine does falls on every variant alike.
 * The figure is the service process's own CPU time over the measured window divided by the
 * requests answered in it: unlike req/s, it depends little on how much of the cores the load
 * generator and other work take. Give the same build twice to see how far apart two identical
 * instances come out (the noise floor). How to build the variants: docs/benchmarks.md.
 *
 * ```sh
 * node bench/dist/bench/cpu-per-request.js --rounds 10 --rate 1000 \
 *   --variant before=bench/dist/variants/before/main.js \
 *   --variant after=bench/dist/variants/after/main.js \
 *   --variant after-22=/path/to/node-22/bin/node:bench/dist/variants/after/main.js \
 *   --baseline fastify --baseline express   # the stock app (bench/baselines) in the same rotation
 * node bench/dist/bench/cpu-per-request.js --products 1000 --variant on=bench/dist/service/main.js \
 *   --variant off=bench/dist/service/main.js --env off:POPULARITY_COUNT_VIEWS=false
 * ```
 */
interface Variant {
  name: string;
  entry: string;
  node?: string;
  /** Extra environment for this variant's instance (`--env name:KEY=VALUE`). */
  env: Record<string, string>;
}

const log = (message: string): void => {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

/** `name=entry` or `name=node:entry`. */
function parseVariant(spec: string): Variant {
  const [name, target] = spec.split(/=(.*)/s);
  if (!name || !target) throw new Error(`--variant ${spec}: expected name=entry or name=node:entry`);
  const colon = target.lastIndexOf(':');
  return colon > 0
    ? { name, node: target.slice(0, colon), entry: target.slice(colon + 1), env: {} }
    : { name, entry: target, env: {} };
}

/** `name:KEY=VALUE`: sets KEY for the variant called name. */
function applyEnv(variants: Variant[], spec: string): void {
  const match = /^([^:]+):([A-Z0-9_]+)=(.*)$/s.exec(spec);
  const variant = match ? variants.find((v) => v.name === match[1]) : undefined;
  if (!match || !variant) throw new Error(`--env ${spec}: expected name:KEY=VALUE for a given --variant name`);
  variant.env[match[2]!] = match[3]!;
}

/**
 * CPU time of a process so far, in seconds, all threads (the main thread, libuv's pool, V8's GC
 * helpers): the first field of each thread's /proc/<pid>/task/<tid>/schedstat, in nanoseconds
 * (utime/stime in /proc/<pid>/stat count 10 ms ticks, too coarse for a few % over seconds).
 */
async function cpuSeconds(pid: number): Promise<number> {
  let nanoseconds = 0;
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    try {
      nanoseconds += Number((await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8')).split(' ')[0]);
    } catch {
      // The thread has just exited.
    }
  }
  return nanoseconds / 1e9;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      variant: { type: 'string', multiple: true },
      env: { type: 'string', multiple: true },
      // The stock baseline app (bench/baselines) on `fastify` or `express`, loaded in the same rotation.
      baseline: { type: 'string', multiple: true },
      // Products in the catalogue, one picked at random per request (1: the same id every time).
      products: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '5' },
      duration: { type: 'string', default: '6' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '50' },
      // A fixed rate below what every variant sustains keeps the share of CPU each one gets (and so
      // how many requests it handles per event-loop turn) alike; 0 loads as fast as it answers.
      rate: { type: 'string', default: '0' },
      // --cpu-prof on every instance (bench/results/profiles/cpu-<name>.cpuprofile): where the time goes.
      profile: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const variants = (values.variant ?? []).map(parseVariant);
  if (variants.length < 2) throw new Error('give at least two --variant name=entry');
  for (const spec of values.env ?? []) applyEnv(variants, spec);
  const rounds = Number(values.rounds);
  const options = { ...parseOptions([], process.env), durationSec: Number(values.duration), profile: values.profile };
  const connections = Number(values.connections);
  const overallRate = Number(values.rate) > 0 ? Number(values.rate) : undefined;
  await mkdir(RESULTS_DIR, { recursive: true });

  const db = await createBenchDatabase(options.postgresUrl);
  const redis = await openBenchRedis(options.redisUrl, options.redisDb);
  const ctx: BenchContext = newBenchContext(options, db, redis);
  const samples = new Map<string, Array<{ usPerRequest: number; requestsPerSec: number }>>();
  try {
    const servers: Array<{ variant: Variant; server: RunningProcess }> = [];
    for (const variant of variants) {
      // The first one migrates the database; one at a time so no two race for it.
      const server = await startService(ctx, `cpu-${variant.name}`, variant.env, variant);
      servers.push({ variant, server });
      samples.set(variant.name, []);
      log(`${variant.name}: pid ${server.pid}, ${variant.node ?? process.execPath} ${variant.entry}`);
    }
    for (const platform of values.baseline ?? []) {
      if (platform !== 'fastify' && platform !== 'express')
        throw new Error(`--baseline ${platform}: fastify or express`);
      const variant: Variant = { name: `baseline-${platform}`, entry: BASELINE_ENTRY, env: {} };
      const server = await startBaseline(ctx, `cpu-${variant.name}`, platform);
      servers.push({ variant, server });
      samples.set(variant.name, []);
      log(`${variant.name}: pid ${server.pid}, the stock app on ${platform}`);
    }
    const products = await db.runOnce<{ id: string }>(
      `INSERT INTO products (sku, name, description, price_cents, currency, stock, active)
       SELECT 'CPU-' || n, 'CPU product ' || n, 'A product of a typical catalogue description length.', 100, 'EUR', 1, true
       FROM generate_series(1, $1) AS n RETURNING id`,
      [Math.max(1, Number(values.products))],
    );
    const paths = products.map((p) => `/v1/products/${p.id}`);
    const next = () => ({ path: paths[Math.floor(Math.random() * paths.length)]! });
    /** Warm-up, then the measured window; CPU is read around the window only. */
    const measure = async ({ variant, server }: { variant: Variant; server: RunningProcess }) => {
      const load = { url: server.url, connections, overallRate, warmupSec: 0, request: { next } };
      await runLoad({ ...load, durationSec: Number(values.warmup) });
      const before = await cpuSeconds(server.pid);
      const result = await runLoad({ ...load, durationSec: options.durationSec });
      const used = (await cpuSeconds(server.pid)) - before;
      if (result.errors > 0) throw new Error(`${variant.name}: ${result.errors} errors`);
      return { variant, usPerRequest: (used * 1e6) / result.total, requestsPerSec: result.requestsPerSec };
    };
    for (let round = 0; round < rounds; round++) {
      // One at a time: loaded together, whichever instance is loaded first comes out cheaper.
      const measured: Array<Awaited<ReturnType<typeof measure>>> = [];
      for (let i = 0; i < servers.length; i++) measured.push(await measure(servers[(i + round) % servers.length]!));
      for (const { variant, usPerRequest, requestsPerSec } of measured) {
        samples.get(variant.name)!.push({ usPerRequest, requestsPerSec });
        log(`round ${round + 1} ${variant.name}: ${usPerRequest.toFixed(1)} µs/request, ${requestsPerSec} req/s`);
      }
    }
  } finally {
    await stopAll();
    await redis.cleanup();
    await db.drop();
  }
  // Each round measured every variant within a minute: the per-round ratio to the first variant
  // cancels what changed between rounds, and its median is the figure to compare.
  const reference = samples.get(variants[0]!.name)!;
  process.stdout.write(
    `\n| variant | µs CPU per cached GET, median | per round | req/s, median | ÷ ${variants[0]!.name}, median of rounds |\n`,
  );
  process.stdout.write('|---|---:|---|---:|---:|\n');
  for (const name of samples.keys()) {
    const rows = samples.get(name)!;
    const ratio = median(rows.map((s, round) => s.usPerRequest / reference[round]!.usPerRequest));
    process.stdout.write(
      `| ${name} | ${median(rows.map((s) => s.usPerRequest)).toFixed(1)} | ${rows.map((s) => s.usPerRequest.toFixed(1)).join(', ')} | ${median(rows.map((s) => s.requestsPerSec))} | ${ratio.toFixed(3)} |\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
