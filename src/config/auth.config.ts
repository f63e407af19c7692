import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { list, parseEnv } from './env.js';

export interface ApiKey {
  name: string;
  secret: string;
}

function parseApiKeys(value: string | undefined): ApiKey[] {
  return list(value).map((pair) => {
    const at = pair.indexOf(':');
    return { name: pair.slice(0, at), secret: pair.slice(at + 1) };
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
        { error: 'expected comma-separated name:secret pairs, unique names of [A-Za-z0-9._-], secrets of at least 16 characters' },
      ),
    ADMIN_TOKEN: z
      .string()
      .min(16, { error: 'expected a token of at least 16 characters' })
      .optional(),
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.API_KEYS !== undefined, {
    path: ['API_KEYS'],
    error: 'required when NODE_ENV=production (writes would be open to anyone)',
  });

export const authConfig = registerAs('auth', () => {
  const env = parseEnv(authEnvSchema);
  return { apiKeys: parseApiKeys(env.API_KEYS), adminToken: env.ADMIN_TOKEN };
});
