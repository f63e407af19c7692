import { parseArgs } from 'node:util';

/** Every knob of a bench run. CLI flags win over `BENCH_*` environment variables, which win over defaults. */
export interface BenchOptions {
  /** Seconds measured per load scenario. */
  durationSec: number;
  /** Seconds of unmeasured load before each measurement (JIT, pools, caches). */
  warmupSec: number;
  /** Concurrent HTTP connections of the load generator. */
  connections: number;
  /** Products seeded through the API before the scenarios. */
  products: number;
  /** Cold ids and concurrent GETs per id in the stampede scenario. */
  stampedeKeys: number;
  stampedeConcurrency: number;
  /** PATCH requests per second in the event-path scenario. */
  eventRate: number;
  /** No-op jobs per queue path. */
  queueJobs: number;
  /** Scenario names to run (all when empty). */
  only: string[];
  postgresUrl: string;
  redisUrl: string;
  /** Redis logical database the run uses (keys are also prefixed, and removed at the end). */
  redisDb: number;
  /** Start service instances with `--cpu-prof` (profiles land in bench/results/profiles). */
  profile: boolean;
}

const defaults: BenchOptions = {
  durationSec: 8,
  warmupSec: 2,
  connections: 50,
  products: 1000,
  stampedeKeys: 20,
  stampedeConcurrency: 200,
  eventRate: 50,
  queueJobs: 5000,
  only: [],
  postgresUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: 'redis://127.0.0.1:6379',
  redisDb: 9,
  profile: false,
};

export const usage = `npm run bench -- [--duration 8] [--warmup 2] [--connections 50] [--products 1000]
  [--stampede-keys 20] [--stampede-concurrency 200] [--event-rate 50] [--queue-jobs 5000]
  [--only cached,uncached,...] [--postgres-url URL] [--redis-url URL] [--redis-db 9] [--profile]
Every flag also reads from BENCH_<FLAG> (e.g. BENCH_DURATION=3). Postgres also falls back to TEST_POSTGRES_URL.`;

/**
 * Reads options from argv and the environment.
 * @example parseOptions(['--duration', '3', '--only', 'cached,stampede'], process.env)
 */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      products: { type: 'string' },
      'stampede-keys': { type: 'string' },
      'stampede-concurrency': { type: 'string' },
      'event-rate': { type: 'string' },
      'queue-jobs': { type: 'string' },
      only: { type: 'string' },
      'postgres-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'redis-db': { type: 'string' },
      profile: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  type Flag = Exclude<keyof typeof values, 'help' | 'profile'>;
  const pick = (flag: Flag): string | undefined =>
    values[flag] ?? env[`BENCH_${flag.toUpperCase().replace(/-/g, '_')}`];
  const num = (flag: Flag, fallback: number, min: number, max: number): number => {
    const raw = pick(flag);
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max)
      throw new Error(`--${flag}: expected a number from ${min} to ${max}, got ${raw}`);
    return value;
  };
  return {
    durationSec: num('duration', defaults.durationSec, 1, 600),
    warmupSec: num('warmup', defaults.warmupSec, 0, 120),
    connections: Math.round(num('connections', defaults.connections, 1, 2000)),
    products: Math.round(num('products', defaults.products, 50, 100_000)),
    stampedeKeys: Math.round(num('stampede-keys', defaults.stampedeKeys, 1, 1000)),
    stampedeConcurrency: Math.round(num('stampede-concurrency', defaults.stampedeConcurrency, 2, 5000)),
    eventRate: num('event-rate', defaults.eventRate, 1, 5000),
    queueJobs: Math.round(num('queue-jobs', defaults.queueJobs, 10, 1_000_000)),
    only: (pick('only') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    postgresUrl: pick('postgres-url') ?? env.TEST_POSTGRES_URL ?? defaults.postgresUrl,
    redisUrl: pick('redis-url') ?? env.TEST_REDIS_URL ?? defaults.redisUrl,
    redisDb: Math.round(num('redis-db', defaults.redisDb, 0, 15)),
    profile: values.profile ?? env.BENCH_PROFILE === '1',
  };
}
