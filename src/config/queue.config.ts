import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { bool, parseEnv } from './env.js';

export const queueEnvSchema = z.object({
  REDIS_URL: z.string().optional(),
  QUEUE_DRIVER: z.enum(['bullmq', 'memory'], { error: 'expected bullmq or memory' }).optional(),
  QUEUE_BACKEND: z.enum(['redis', 'postgres'], { error: 'expected redis or postgres' }).default('redis'),
  WORKERS: bool(true),
});

export const queueConfig = registerAs('queue', () => {
  const env = parseEnv(queueEnvSchema);
  const driver = env.QUEUE_DRIVER ?? (env.REDIS_URL || env.QUEUE_BACKEND === 'postgres' ? 'bullmq' : 'memory');
  return { driver, backend: env.QUEUE_BACKEND, workers: env.WORKERS } as const;
});
