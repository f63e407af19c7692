import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { list, parseEnv, url } from './env.js';

/**
 * One cluster seed: `host:port`, or a `redis://` / `rediss://` URL when it needs credentials or TLS
 * (the first seed's apply to every node the cluster reports).
 */
function seedUrl(seed: string): string | undefined {
  const candidate = /^rediss?:\/\//.test(seed) ? seed : `redis://${seed}`;
  try {
    const parsed = new URL(candidate);
    if (!['redis:', 'rediss:'].includes(parsed.protocol) || parsed.hostname === '' || parsed.port === '')
      return undefined;
    if (parsed.pathname !== '' && parsed.pathname !== '/') return undefined; // a cluster has database 0 only
    return candidate;
  } catch {
    return undefined;
  }
}

export const redisEnvSchema = z.object({
  REDIS_URL: url(['redis:', 'rediss:'], 'a redis:// or rediss:// URL'),
  /** Redis Cluster seed nodes, set instead of REDIS_URL: `host:port,host:port,…`. */
  REDIS_CLUSTER_NODES: z
    .string()
    .refine((value) => list(value).length > 0 && list(value).every((seed) => seedUrl(seed) !== undefined), {
      error: 'expected host:port,host:port,… (or redis[s]://[user:password@]host:port entries)',
    })
    .optional(),
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
  const env = parseEnv(
    redisEnvSchema.refine((e) => !(e.REDIS_URL && e.REDIS_CLUSTER_NODES), {
      path: ['REDIS_CLUSTER_NODES'],
      error: 'set REDIS_URL (one server) or REDIS_CLUSTER_NODES (a cluster), not both',
    }),
  );
  return {
    url: env.REDIS_URL,
    /** The seeds as redis:// URLs; undefined without REDIS_CLUSTER_NODES. */
    clusterNodes:
      env.REDIS_CLUSTER_NODES === undefined ? undefined : list(env.REDIS_CLUSTER_NODES).map((s) => seedUrl(s)!),
    keyPrefix: env.REDIS_KEY_PREFIX,
  };
});
