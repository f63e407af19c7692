import type { RedisOptions } from 'ioredis';
import { parseRedisUrl } from '../../config/index.js';
import { reconnectDelay } from './reconnect.js';
import type { RedisTarget } from './redis-target.js';

/**
 * How an ioredis connection (BullMQ's client) behaves while Redis is away:
 * - `fail-fast`: producers and small side clients; a command fails at once instead of queueing.
 * - `wait`: workers; commands wait out the outage (`maxRetriesPerRequest: null`, as BullMQ requires).
 */
export type IoredisMode = 'fail-fast' | 'wait';

/** ioredis options whose reconnect policy is always set (BullMQ's option type has no `null` for it). */
export type IoredisOptions = RedisOptions & { retryStrategy: (times: number) => number };

/**
 * ioredis options for `target` (BullMQ takes options, not URLs), with the one reconnect policy.
 * Options rather than a client, so BullMQ can create (and duplicate) its connections itself.
 */
export function ioredisConnection(target: RedisTarget, mode: IoredisMode): IoredisOptions {
  const endpoint = parseRedisUrl(target.url);
  const base: IoredisOptions = {
    host: endpoint.host,
    port: endpoint.port,
    ...(endpoint.username !== undefined ? { username: endpoint.username } : {}),
    ...(endpoint.password !== undefined ? { password: endpoint.password } : {}),
    ...(endpoint.db !== undefined ? { db: endpoint.db } : {}),
    ...(endpoint.tls ? { tls: {} } : {}),
    // ioredis counts attempts from 1.
    retryStrategy: (times: number) => reconnectDelay(times - 1),
  };
  if (mode === 'wait') return { ...base, maxRetriesPerRequest: null };
  return { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 };
}
