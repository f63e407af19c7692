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

/** What a `redis://` or `rediss://` URL names, for clients that take options rather than a URL (ioredis). */
export interface RedisEndpoint {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** The database index (path `/N`); absent means 0. */
  db?: number;
  tls: boolean;
}

/** The one parser of Redis URLs: `redis[s]://[[user]:password@]host[:port][/db]`. */
export function parseRedisUrl(value: string): RedisEndpoint {
  const parsed = new URL(value);
  const db = parsed.pathname.replace(/^\//, '');
  return {
    // IPv6 hosts come bracketed in a URL; clients want the bare address.
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(/^\d+$/.test(db) ? { db: Number(db) } : {}),
    tls: parsed.protocol === 'rediss:',
  };
}

export const redisConfig = registerAs('redis', () => {
  const env = parseEnv(redisEnvSchema);
  return { url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX };
});
