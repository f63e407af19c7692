import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Module, type Provider, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue, Worker } from 'bullmq';
import { type BenchContext, mapLimit, ROOT } from '../lib/context.js';
import type { ScenarioResult } from '../lib/report.js';

/** Worker concurrency of both paths (set on the service for the bench, above its defaults), and adds in flight. */
export const QUEUE_CONCURRENCY = 10;
const ADDS_IN_FLIGHT = 50;

/** Job retention as our BullMQ driver sets it, so both paths write the same data. */
const RETENTION = {
  removeOnComplete: { age: 86_400, count: 100_000 },
  removeOnFail: { age: 7 * 86_400, count: 100_000 },
};

interface Throughput {
  jobsPerSec: number;
  seconds: number;
  failed: number;
}

/**
 * Adds `total` jobs (`ADDS_IN_FLIGHT` adds at a time, one `add` per job, as the service enqueues)
 * while workers drain them; jobs/s from the first add to the last completion.
 */
async function measure(
  total: number,
  add: (n: number) => Promise<unknown>,
  onOutcome: (listener: (ok: boolean) => void) => void,
): Promise<Throughput> {
  let completed = 0;
  let failed = 0;
  let target = 0;
  let reached: () => void = () => undefined;
  onOutcome((ok) => {
    if (ok) completed++;
    else failed++;
    if (completed + failed >= target) reached();
  });
  const drain = async (count: number): Promise<void> => {
    const done = new Promise<void>((resolve) => (reached = resolve));
    target += count;
    await mapLimit(
      Array.from({ length: count }, (_, n) => n),
      ADDS_IN_FLIGHT,
      (n) => add(n),
    );
    await done;
  };
  // Warm-up: JIT, Lua scripts loaded, connections open; not measured.
  await drain(Math.max(100, Math.round(total / 10)));
  const failedBefore = failed;
  const started = performance.now();
  await drain(total);
  const seconds = (performance.now() - started) / 1000;
  return {
    jobsPerSec: Math.round(total / seconds),
    seconds: Math.round(seconds * 100) / 100,
    failed: failed - failedBefore,
  };
}

/** Raw BullMQ: one Queue and one Worker with a no-op processor, configured as BullMQ's docs show. */
async function rawOnce(ctx: BenchContext, round: number): Promise<Throughput> {
  const url = new URL(ctx.redis.url);
  const connection = {
    host: url.hostname,
    port: Number(url.port || 6379),
    db: Number(url.pathname.slice(1) || 0),
    maxRetriesPerRequest: null,
  };
  const prefix = `${ctx.redis.prefix}:rawbull`;
  const queue = new Queue(`bench-noop-${round}`, { connection, prefix, defaultJobOptions: RETENTION });
  const worker = new Worker(`bench-noop-${round}`, () => Promise.resolve(undefined), {
    connection,
    prefix,
    concurrency: QUEUE_CONCURRENCY,
  });
  try {
    await worker.waitUntilReady();
    return await measure(
      ctx.options.queueJobs,
      (n) => queue.add('noop', { n }, { jobId: randomUUID(), attempts: 1 }),
      (listener) => {
        worker.on('completed', () => listener(true));
        worker.on('failed', () => listener(false));
      },
    );
  } finally {
    await worker.close();
    await queue.close();
  }
}

/**
 * The queue ceiling: raw BullMQ, measured before and after our path (the machine is shared, so
 * the better of the two rounds is the figure our path is held against).
 */
export async function rawBullmq(ctx: BenchContext, round: number): Promise<ScenarioResult> {
  const result = await rawOnce(ctx, round);
  return {
    id: `queue-raw-${round}`,
    label: `queue ceiling: raw BullMQ no-op jobs (concurrency ${QUEUE_CONCURRENCY}), round ${round}`,
    status: 'ok',
    unit: 'jobs/s',
    rate: result.jobsPerSec,
    errors: result.failed,
    details: { jobs: ctx.options.queueJobs, seconds: result.seconds },
  };
}

/** What the bench uses of the compiled queue module (loaded at run time from the service build). */
interface JobDefinitionLike {
  name: string;
  queue: { name: string };
}
interface QueueTypesModule {
  JobHandler: (job: JobDefinitionLike) => ClassDecorator;
  defineQueue: (queue: { name: string; workers: 'short' | 'long' }) => { name: string };
  defineJob: (job: { name: string; queue: { name: string } }) => JobDefinitionLike;
  provideJobs: (...jobs: JobDefinitionLike[]) => Provider;
  QueueDriver: symbol;
}
interface QueueDriverLike {
  add(queue: string, job: string, data: unknown, opts?: object): Promise<string>;
  /** The BullMQ driver's workers by queue name. */
  workers: ReadonlyMap<string, { on(event: 'completed' | 'failed', listener: () => void): void }>;
}

const SERVICE_DIR = join(ROOT, 'bench/dist/service');
const load = async <T>(relative: string): Promise<T> =>
  (await import(pathToFileURL(join(SERVICE_DIR, relative)).href)) as T;

/**
 * Our processor path: the service's QueueModule (the BullMQ driver and its workers, the
 * JobRunner with its metrics and handler lookup) in an application context, with one declared
 * job and its no-op `@JobHandler`; the same jobs as the raw run, on a queue with the long-jobs
 * settings (IMPORT_CONCURRENCY), as the `imports` queue has.
 */
export async function ourQueue(ctx: BenchContext): Promise<ScenarioResult> {
  const label = `queue: no-op jobs through our processor path (concurrency ${QUEUE_CONCURRENCY})`;
  if (!existsSync(join(SERVICE_DIR, 'infra/queue/queue.module.js'))) {
    return {
      id: 'queue',
      label,
      status: 'n/a',
      reason: 'the service build has no queue module (src/infra/queue)',
      unit: 'jobs/s',
    };
  }
  const types = await load<QueueTypesModule>('infra/queue/queue.types.js');
  const { QueueModule } = await load<{ QueueModule: Type }>('infra/queue/queue.module.js');
  const { AppConfigModule } = await load<{ AppConfigModule: Type }>('config/app-config.module.js');
  const { MetricsModule } = await load<{ MetricsModule: Type }>('infra/metrics/metrics.module.js');

  // One declared job and its no-op handler: start-up refuses a declared job without one.
  const benchJob = types.defineJob({
    name: 'bench-noop',
    queue: types.defineQueue({ name: 'imports', workers: 'long' }),
  });
  const handler = class NoopHandler {
    handle(): Promise<undefined> {
      return Promise.resolve(undefined);
    }
  };
  types.JobHandler(benchJob)(handler);
  class BenchQueueModule {}
  Module({
    imports: [AppConfigModule, MetricsModule, QueueModule],
    providers: [types.provideJobs(benchJob), handler],
  })(BenchQueueModule);

  // Config is read from process.env while the context is built, then never again.
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: 'production',
    API_KEYS: `bench:${ctx.apiKey}`,
    DATABASE_URL: ctx.db.url,
    REDIS_URL: ctx.redis.url,
    REDIS_KEY_PREFIX: `${ctx.redis.prefix}-ourq`,
    QUEUE_DRIVER: 'bullmq',
    QUEUE_BACKEND: 'redis',
    QUEUE_CONCURRENCY: String(QUEUE_CONCURRENCY),
    IMPORT_CONCURRENCY: String(QUEUE_CONCURRENCY),
    // In-process workers may use at most half the pool (queue.config.ts): give them room for 2 × 10.
    DATABASE_POOL_SIZE: String(4 * QUEUE_CONCURRENCY),
    WORKERS: 'true',
  });
  let app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>>;
  try {
    app = await NestFactory.createApplicationContext(BenchQueueModule, { logger: ['error', 'warn'] });
  } finally {
    process.env = saved;
  }
  try {
    const driver = app.get<QueueDriverLike>(types.QueueDriver);
    const worker = driver.workers.get(benchJob.queue.name)!;
    const once = () =>
      measure(
        ctx.options.queueJobs,
        (n) => driver.add(benchJob.queue.name, benchJob.name, { n }),
        (listener) => {
          worker.on('completed', () => listener(true));
          worker.on('failed', () => listener(false));
        },
      );
    // Two rounds, like raw BullMQ (one before and one after): the better is held against the better raw round.
    const first = await once();
    const second = await once();
    const best = second.jobsPerSec >= first.jobsPerSec ? second : first;
    return {
      id: 'queue',
      label,
      status: 'ok',
      unit: 'jobs/s',
      rate: best.jobsPerSec,
      errors: first.failed + second.failed,
      details: { jobs: ctx.options.queueJobs, rounds: [first.jobsPerSec, second.jobsPerSec], seconds: best.seconds },
    };
  } finally {
    await app.close();
  }
}
