import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { seconds } from '../common/duration.js';
import { int, parseEnv } from './env.js';

export const cacheEnvSchema = z.object({
  REDIS_URL: z.string().optional(),
  CACHE_STORE: z.enum(['memory', 'redis', 'none'], { error: 'expected memory, redis or none' }).optional(),
  CACHE_TTL_SECONDS: int(1, 86_400 * 30, 60),
  CACHE_NEGATIVE_TTL_SECONDS: int(0, 3600, 5),
  CACHE_L1_TTL_MS: int(0, 60_000, 0),
});

export const cacheConfig = registerAs('cache', () => {
  const env = parseEnv(cacheEnvSchema.refine((e) => e.CACHE_STORE !== 'redis' || e.REDIS_URL, {
    path: ['CACHE_STORE'],
    error: 'redis needs REDIS_URL to be set',
  }));
  return {
    store: env.CACHE_STORE ?? (env.REDIS_URL ? 'redis' : 'memory'),
    ttlMs: seconds(env.CACHE_TTL_SECONDS),
    negativeTtlMs: seconds(env.CACHE_NEGATIVE_TTL_SECONDS),
    l1TtlMs: env.CACHE_L1_TTL_MS,
  } as const;
});
