import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { seconds } from '../common/index.js';
import { int, list, parseEnv } from './env.js';

export interface ApiKey {
  name: string;
  secret: string;
}

/** An entry without `name:` has no name (it is refused: the name goes into logs and Redis keys). */
function parseApiKeys(value: string | undefined): ApiKey[] {
  return list(value).map((pair) => {
    const at = pair.indexOf(':');
    return at === -1 ? { name: '', secret: pair } : { name: pair.slice(0, at), secret: pair.slice(at + 1) };
  });
}

export const authEnvSchema = z
  .object({
    NODE_ENV: z.string().optional(),
    API_KEYS: z
      .string()
      .optional()
      .refine(
        (value) => {
          const keys = parseApiKeys(value);
          const names = new Set(keys.map((k) => k.name));
          return (
            names.size === keys.length &&
            keys.every((k) => /^[A-Za-z0-9._-]{1,64}$/.test(k.name) && k.secret.length >= 16 && !/\s/.test(k.secret))
          );
        },
        {
          error:
            'expected comma-separated name:secret pairs (every entry named), unique names of 1-64 [A-Za-z0-9._-], secrets of at least 16 characters',
        },
      ),
    ADMIN_TOKEN: z.string().min(16, { error: 'expected a token of at least 16 characters' }).optional(),
    /** Wrong API keys or admin tokens one client IP may send per window before it gets 429. */
    AUTH_FAILURE_LIMIT: int(1, 1_000_000, 20),
    AUTH_FAILURE_TTL_SECONDS: int(1, 86_400, 60),
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.API_KEYS !== undefined, {
    path: ['API_KEYS'],
    error: 'required when NODE_ENV=production (writes would be open to anyone)',
  });

export const authConfig = registerAs('auth', () => {
  const env = parseEnv(authEnvSchema);
  return {
    apiKeys: parseApiKeys(env.API_KEYS),
    adminToken: env.ADMIN_TOKEN,
    failureLimit: { limit: env.AUTH_FAILURE_LIMIT, windowMs: seconds(env.AUTH_FAILURE_TTL_SECONDS) },
  };
});
