import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { seconds } from '../common/index.js';
import { int, parseEnv } from './env.js';

export const idempotencyEnvSchema = z.object({
  /** How long a stored `Idempotency-Key` outcome is replayed (30 days at most: the table grows with it). */
  IDEMPOTENCY_TTL_SECONDS: int(1, 86_400 * 30, 86_400),
});

export const idempotencyConfig = registerAs('idempotency', () => {
  const env = parseEnv(idempotencyEnvSchema);
  return { ttlMs: seconds(env.IDEMPOTENCY_TTL_SECONDS) };
});
