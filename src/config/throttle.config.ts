import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { seconds } from '../common/index.js';
import { int, parseEnv } from './env.js';

export const throttleEnvSchema = z.object({
  THROTTLE_LIMIT: int(1, 1_000_000, 100),
  THROTTLE_TTL_SECONDS: int(1, 86_400, 60),
  /**
   * A short tier that stops a client spending its whole default quota in one instant. Off (0) unless
   * configured: with only THROTTLE_LIMIT/THROTTLE_TTL_SECONDS set, they are the only limit (API.md).
   */
  THROTTLE_BURST_LIMIT: int(0, 1_000_000, 0),
  THROTTLE_BURST_TTL_SECONDS: int(1, 3_600, 1),
  /** A stricter tier for POST/PUT/PATCH/DELETE only; 0 (the default) means writes count only against the others. */
  THROTTLE_WRITE_LIMIT: int(0, 1_000_000, 0),
  THROTTLE_WRITE_TTL_SECONDS: int(1, 86_400, 60),
  THROTTLE_FAIL_MODE: z.enum(['local', 'closed'], { error: 'expected local or closed' }).default('local'),
  /** How long one Redis call may take before the limiter treats Redis as down (fail mode applies). */
  THROTTLE_REDIS_TIMEOUT_MS: int(10, 10_000, 500),
  /** Upper bound on client buckets the in-memory limiter keeps (oldest evicted beyond it). */
  THROTTLE_LOCAL_MAX_KEYS: int(1_000, 10_000_000, 100_000),
});

export const throttleConfig = registerAs('throttle', () => {
  const env = parseEnv(throttleEnvSchema);
  return {
    limit: env.THROTTLE_LIMIT,
    windowMs: seconds(env.THROTTLE_TTL_SECONDS),
    burst: { limit: env.THROTTLE_BURST_LIMIT, windowMs: seconds(env.THROTTLE_BURST_TTL_SECONDS) },
    write: { limit: env.THROTTLE_WRITE_LIMIT, windowMs: seconds(env.THROTTLE_WRITE_TTL_SECONDS) },
    failMode: env.THROTTLE_FAIL_MODE,
    redisTimeoutMs: env.THROTTLE_REDIS_TIMEOUT_MS,
    localMaxKeys: env.THROTTLE_LOCAL_MAX_KEYS,
  };
});
