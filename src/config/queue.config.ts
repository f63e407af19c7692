import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { seconds } from '../common/index.js';
import { bool, int, parseEnv } from './env.js';

export const queueEnvSchema = z.object({
  REDIS_URL: z.string().optional(),
  REDIS_CLUSTER_NODES: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  /** Read here too (database.config.ts owns it) for the worker/pool rule below. */
  DATABASE_POOL_SIZE: int(1, 200, 10),
  QUEUE_DRIVER: z.enum(['bullmq', 'memory'], { error: 'expected bullmq or memory' }).optional(),
  QUEUE_BACKEND: z.enum(['redis', 'postgres'], { error: 'expected redis or postgres' }).default('redis'),
  /** PostgreSQL schema holding BullMQ's tables when QUEUE_BACKEND=postgres. */
  QUEUE_PG_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: 'expected a lower-case PostgreSQL identifier' })
    .default('bullmq'),
  WORKERS: bool(true),
  /** Jobs at a time per process on the `events` and `notifications` queues. */
  QUEUE_CONCURRENCY: int(1, 1000, 4),
  QUEUE_SHUTDOWN_GRACE_MS: int(0, 600_000, 10_000),
  /** Lock and stalled-job check of the `events` and `notifications` queues (short jobs): crash recovery in seconds. */
  QUEUE_LOCK_DURATION_MS: int(500, 600_000, 10_000),
  QUEUE_STALLED_INTERVAL_MS: int(500, 600_000, 2000),
  QUEUE_KEEP_COMPLETED_SECONDS: int(1, 86_400 * 30, 86_400),
  QUEUE_KEEP_FAILED_SECONDS: int(1, 86_400 * 90, 86_400 * 7),
  OUTBOX_SWEEP_INTERVAL_MS: int(100, 600_000, 1000),
  OUTBOX_SWEEP_AFTER_MS: int(0, 3_600_000, 5000),
  OUTBOX_RETENTION_SECONDS: int(1, 86_400 * 90, 86_400),
  /** When the queue's storage lost its jobs (Redis restarted empty), events dispatched this recently are handed over again. */
  OUTBOX_REDISPATCH_WINDOW_SECONDS: int(0, 86_400 * 7, 900),
  IMPORT_BATCH_SIZE: int(1, 5000, 250),
  /** Imports at a time per process (each holds a database connection while it runs). */
  IMPORT_CONCURRENCY: int(1, 100, 1),
  /** Imports one client (API key, else IP) may have waiting or running at once, across instances. */
  IMPORT_MAX_CONCURRENT_PER_CLIENT: int(1, 1000, 2),
  /** Lock and stalled-job check of the `imports` queue: a re-run reports the first run's products as taken, so it tolerates more. */
  IMPORT_LOCK_DURATION_MS: int(500, 600_000, 30_000),
  IMPORT_STALLED_INTERVAL_MS: int(500, 600_000, 15_000),
  /** A finished import's result stays readable at GET /v1/jobs/{id} this long. */
  IMPORT_KEEP_SECONDS: int(60, 86_400 * 30, 3600),
});

/** How one queue's workers run in this process. */
export interface QueueWorkerSettings {
  concurrency: number;
  /** The job lock; BullMQ renews it every half of it while the job runs. */
  lockDurationMs: number;
  /** How often a worker looks for jobs whose lock expired (their worker died). */
  stalledIntervalMs: number;
  /** Stalls a job survives before it is failed; more for idempotent jobs, where a re-run is harmless. */
  maxStalledCount: number;
}

/**
 * The worker settings a queue picks by name when it is declared (`defineQueue`): `short` for
 * quick idempotent jobs (QUEUE_*), `long` for long-running bulk work (IMPORT_*, after the first
 * queue that needed it).
 */
export type WorkerProfile = 'short' | 'long';

type QueueEnv = z.output<typeof queueEnvSchema>;

/**
 * With workers in the API process they share its connection pool. A notifications or import job
 * holds at most one connection at a time (events' dispatch jobs touch only the queue), so their
 * concurrency summed must leave at least half of DATABASE_POOL_SIZE to HTTP requests.
 */
export function workerConnectionsFitThePool(
  env: Pick<QueueEnv, 'WORKERS' | 'DATABASE_URL' | 'DATABASE_POOL_SIZE' | 'QUEUE_CONCURRENCY' | 'IMPORT_CONCURRENCY'>,
): boolean {
  if (!env.WORKERS || env.DATABASE_URL === undefined) return true;
  return env.QUEUE_CONCURRENCY + env.IMPORT_CONCURRENCY <= Math.floor(env.DATABASE_POOL_SIZE / 2);
}

export const queueConfig = registerAs('queue', () => {
  const env = parseEnv(
    queueEnvSchema
      .refine((e) => e.QUEUE_BACKEND !== 'postgres' || e.DATABASE_URL !== undefined, {
        path: ['QUEUE_BACKEND'],
        error: 'postgres needs DATABASE_URL to be set (BullMQ cannot run on embedded PGlite)',
      })
      .refine(
        (e) =>
          !(
            e.QUEUE_DRIVER === 'bullmq' &&
            e.QUEUE_BACKEND === 'redis' &&
            e.REDIS_URL === undefined &&
            e.REDIS_CLUSTER_NODES === undefined
          ),
        {
          path: ['QUEUE_DRIVER'],
          error: 'bullmq on redis needs REDIS_URL or REDIS_CLUSTER_NODES to be set (or QUEUE_BACKEND=postgres)',
        },
      )
      .refine(workerConnectionsFitThePool, {
        path: ['QUEUE_CONCURRENCY'],
        error:
          'with WORKERS=true the workers share the API connection pool: QUEUE_CONCURRENCY + IMPORT_CONCURRENCY must be at most half of DATABASE_POOL_SIZE (raise the pool, lower the concurrency, or run workers apart with WORKERS=false)',
      })
      .refine(
        (e) =>
          e.QUEUE_STALLED_INTERVAL_MS < e.QUEUE_LOCK_DURATION_MS &&
          e.IMPORT_STALLED_INTERVAL_MS < e.IMPORT_LOCK_DURATION_MS,
        {
          path: ['QUEUE_STALLED_INTERVAL_MS'],
          error:
            'the stalled-job check must run more often than the lock lasts (QUEUE_/IMPORT_STALLED_INTERVAL_MS < …_LOCK_DURATION_MS)',
        },
      ),
  );
  const driver =
    env.QUEUE_DRIVER ??
    (env.REDIS_URL || env.REDIS_CLUSTER_NODES || env.QUEUE_BACKEND === 'postgres' ? 'bullmq' : 'memory');
  const shortJobs: QueueWorkerSettings = {
    concurrency: env.QUEUE_CONCURRENCY,
    lockDurationMs: env.QUEUE_LOCK_DURATION_MS,
    stalledIntervalMs: env.QUEUE_STALLED_INTERVAL_MS,
    // Dispatch, webhook and email jobs are idempotent: a second stall (a saturated host) re-runs them rather than failing them.
    maxStalledCount: 2,
  };
  return {
    driver,
    backend: env.QUEUE_BACKEND,
    postgresSchema: env.QUEUE_PG_SCHEMA,
    workers: env.WORKERS,
    /** Per worker profile; each declared queue names one (`defineQueue({ workers })`). */
    workerProfiles: {
      short: shortJobs,
      long: {
        concurrency: env.IMPORT_CONCURRENCY,
        lockDurationMs: env.IMPORT_LOCK_DURATION_MS,
        stalledIntervalMs: env.IMPORT_STALLED_INTERVAL_MS,
        maxStalledCount: 1,
      },
    } satisfies Record<WorkerProfile, QueueWorkerSettings>,
    shutdownGraceMs: env.QUEUE_SHUTDOWN_GRACE_MS,
    keepCompletedMs: seconds(env.QUEUE_KEEP_COMPLETED_SECONDS),
    keepFailedMs: seconds(env.QUEUE_KEEP_FAILED_SECONDS),
    outbox: {
      sweepIntervalMs: env.OUTBOX_SWEEP_INTERVAL_MS,
      sweepAfterMs: env.OUTBOX_SWEEP_AFTER_MS,
      retentionMs: seconds(env.OUTBOX_RETENTION_SECONDS),
      redispatchWindowMs: seconds(env.OUTBOX_REDISPATCH_WINDOW_SECONDS),
    },
    imports: {
      batchSize: env.IMPORT_BATCH_SIZE,
      maxConcurrentPerClient: env.IMPORT_MAX_CONCURRENT_PER_CLIENT,
      keepMs: seconds(env.IMPORT_KEEP_SECONDS),
    },
  } as const;
});
