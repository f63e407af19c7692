import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { seconds } from '../common/duration.js';
import { int, parseEnv } from './env.js';

export const throttleEnvSchema = z.object({
  THROTTLE_LIMIT: int(1, 1_000_000, 100),
  THROTTLE_TTL_SECONDS: int(1, 86_400, 60),
  THROTTLE_FAIL_MODE: z.enum(['local', 'closed'], { error: 'expected local or closed' }).default('local'),
});

export const throttleConfig = registerAs('throttle', () => {
  const env = parseEnv(throttleEnvSchema);
  return { limit: env.THROTTLE_LIMIT, windowMs: seconds(env.THROTTLE_TTL_SECONDS), failMode: env.THROTTLE_FAIL_MODE };
});
