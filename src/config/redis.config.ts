import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { parseEnv, url } from './env.js';

export const redisEnvSchema = z.object({
  REDIS_URL: url(['redis:', 'rediss:'], 'a redis:// or rediss:// URL'),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, { error: 'expected 1-64 characters of A-Z a-z 0-9 : _ -' })
    .default('app'),
});

export const redisConfig = registerAs('redis', () => {
  const env = parseEnv(redisEnvSchema);
  return { url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX };
});
