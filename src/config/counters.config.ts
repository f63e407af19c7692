import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { bool, int, parseEnv } from './env.js';

export const countersEnvSchema = z.object({
  REDIS_URL: z.string().optional(),
  REDIS_CLUSTER_NODES: z.string().optional(),
  /** Where counted views go: Redis (shared by every instance) or this process. */
  COUNTERS_STORE: z.enum(['memory', 'redis'], { error: 'expected memory or redis' }).optional(),
  /** How often the in-process buffer is flushed (one pipeline per flush). */
  COUNTERS_FLUSH_INTERVAL_MS: int(50, 60_000, 1000),
  /** Distinct products (per hour bucket) one flush may carry; views of more are dropped and counted. */
  COUNTERS_MAX_MEMBERS_PER_FLUSH: int(100, 10_000_000, 10_000),
  /** Distinct viewer ids one flush may carry; past it views still count but their viewer is not kept. */
  COUNTERS_MAX_IDS_PER_FLUSH: int(100, 100_000_000, 100_000),
  /** The memory store's bound on viewer ids kept over every bucket (it keeps exact sets). */
  COUNTERS_MEMORY_MAX_IDS: int(1000, 100_000_000, 1_000_000),
  /** Whether GET /v1/products/{id} counts views (the popularity routes still answer when off). */
  POPULARITY_COUNT_VIEWS: bool(true),
});

export const countersConfig = registerAs('counters', () => {
  const env = parseEnv(
    countersEnvSchema.refine((e) => e.COUNTERS_STORE !== 'redis' || e.REDIS_URL || e.REDIS_CLUSTER_NODES, {
      path: ['COUNTERS_STORE'],
      error: 'redis needs REDIS_URL or REDIS_CLUSTER_NODES to be set',
    }),
  );
  return {
    store: env.COUNTERS_STORE ?? (env.REDIS_URL || env.REDIS_CLUSTER_NODES ? 'redis' : 'memory'),
    flushIntervalMs: env.COUNTERS_FLUSH_INTERVAL_MS,
    maxMembersPerFlush: env.COUNTERS_MAX_MEMBERS_PER_FLUSH,
    maxIdsPerFlush: env.COUNTERS_MAX_IDS_PER_FLUSH,
    memoryMaxIds: env.COUNTERS_MEMORY_MAX_IDS,
    countViews: env.POPULARITY_COUNT_VIEWS,
  } as const;
});
