import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { seconds } from '../common/duration.js';
import { bool, int, parseEnv } from './env.js';

export const queueEnvSchema = z.object({
  REDIS_URL: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  QUEUE_DRIVER: z.enum(['bullmq', 'memory'], { error: 'expected bullmq or memory' }).optional(),
  QUEUE_BACKEND: z.enum(['redis', 'postgres'], { error: 'expected redis or postgres' }).default('redis'),
  /** PostgreSQL schema holding BullMQ's tables when QUEUE_BACKEND=postgres. */
  QUEUE_PG_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: 'expected a lower-case PostgreSQL identifier' })
    .default('bullmq'),
  WORKERS: bool(true),
  QUEUE_CONCURRENCY: int(1, 1000, 10),
  QUEUE_SHUTDOWN_GRACE_MS: int(0, 600_000, 10_000),
  QUEUE_LOCK_DURATION_MS: int(500, 600_000, 30_000),
  QUEUE_STALLED_INTERVAL_MS: int(500, 600_000, 30_000),
  QUEUE_KEEP_COMPLETED_SECONDS: int(1, 86_400 * 30, 86_400),
  QUEUE_KEEP_FAILED_SECONDS: int(1, 86_400 * 90, 86_400 * 7),
  OUTBOX_SWEEP_INTERVAL_MS: int(100, 600_000, 1000),
  OUTBOX_SWEEP_AFTER_MS: int(0, 3_600_000, 5000),
  OUTBOX_RETENTION_SECONDS: int(1, 86_400 * 90, 86_400),
  /** When the queue's storage lost its jobs (Redis restarted empty), events dispatched this recently are handed over again. */
  OUTBOX_REDISPATCH_WINDOW_SECONDS: int(0, 86_400 * 7, 900),
  IMPORT_BATCH_SIZE: int(1, 5000, 250),
});

export const queueConfig = registerAs('queue', () => {
  const env = parseEnv(
    queueEnvSchema
      .refine((e) => e.QUEUE_BACKEND !== 'postgres' || e.DATABASE_URL !== undefined, {
        path: ['QUEUE_BACKEND'],
        error: 'postgres needs DATABASE_URL to be set (BullMQ cannot run on embedded PGlite)',
      })
      .refine((e) => !(e.QUEUE_DRIVER === 'bullmq' && e.QUEUE_BACKEND === 'redis' && e.REDIS_URL === undefined), {
        path: ['QUEUE_DRIVER'],
        error: 'bullmq on redis needs REDIS_URL to be set (or QUEUE_BACKEND=postgres)',
      }),
  );
  const driver = env.QUEUE_DRIVER ?? (env.REDIS_URL || env.QUEUE_BACKEND === 'postgres' ? 'bullmq' : 'memory');
  return {
    driver,
    backend: env.QUEUE_BACKEND,
    postgresSchema: env.QUEUE_PG_SCHEMA,
    workers: env.WORKERS,
    concurrency: env.QUEUE_CONCURRENCY,
    shutdownGraceMs: env.QUEUE_SHUTDOWN_GRACE_MS,
    lockDurationMs: env.QUEUE_LOCK_DURATION_MS,
    stalledIntervalMs: env.QUEUE_STALLED_INTERVAL_MS,
    keepCompletedMs: seconds(env.QUEUE_KEEP_COMPLETED_SECONDS),
    keepFailedMs: seconds(env.QUEUE_KEEP_FAILED_SECONDS),
    outbox: {
      sweepIntervalMs: env.OUTBOX_SWEEP_INTERVAL_MS,
      sweepAfterMs: env.OUTBOX_SWEEP_AFTER_MS,
      retentionMs: seconds(env.OUTBOX_RETENTION_SECONDS),
      redispatchWindowMs: seconds(env.OUTBOX_REDISPATCH_WINDOW_SECONDS),
    },
    importBatchSize: env.IMPORT_BATCH_SIZE,
  } as const;
});
