import { Cluster, type RedisOptions } from 'ioredis';
import { parseRedisUrl, type RedisEndpoint } from '../../config/index.js';
import { reconnectDelay } from './reconnect.js';

/**
 * How an ioredis connection (BullMQ's client) behaves while Redis is away:
 * - `fail-fast`: producers and small side clients; a command fails at once instead of queueing.
 * - `wait`: workers; commands wait out the outage (`maxRetriesPerRequest: null`, as BullMQ requires).
 */
export type IoredisMode = 'fail-fast' | 'wait';

/** ioredis options whose reconnect policy is always set (BullMQ's option type has no `null` for it). */
export type IoredisOptions = RedisOptions & { retryStrategy: (times: number) => number };

// ioredis counts attempts from 1.
const retryStrategy = (times: number): number => reconnectDelay(times - 1);

function endpointOptions(endpoint: RedisEndpoint): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  return {
    ...(endpoint.username !== undefined ? { username: endpoint.username } : {}),
    ...(endpoint.password !== undefined ? { password: endpoint.password } : {}),
    ...(endpoint.tls ? { tls: {} } : {}),
  };
}

function modeOptions(
  mode: IoredisMode,
): Pick<RedisOptions, 'maxRetriesPerRequest' | 'enableOfflineQueue' | 'connectTimeout'> {
  return mode === 'wait'
    ? { maxRetriesPerRequest: null }
    : { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 };
}

/**
 * ioredis options for one server (BullMQ takes options, not URLs, and creates and closes its
 * connections itself), with the one reconnect policy.
 */
export function ioredisConnection(target: { url: string }, mode: IoredisMode): IoredisOptions {
  const endpoint = parseRedisUrl(target.url);
  return {
    host: endpoint.host,
    port: endpoint.port,
    ...endpointOptions(endpoint),
    ...(endpoint.db !== undefined ? { db: endpoint.db } : {}),
    retryStrategy,
    ...modeOptions(mode),
  };
}

/**
 * An ioredis `Cluster` for the seed nodes (BullMQ takes a cluster as a client instance, not as
 * options: its docs' way), each node reached with the first seed's credentials and TLS, the same
 * mode options and the one reconnect policy. Not connected yet (`lazyConnect`); whoever creates it
 * closes it (`disconnect()`): BullMQ does not close a connection it was given.
 */
export function ioredisCluster(target: { clusterNodes: readonly string[] }, mode: IoredisMode): Cluster {
  const seeds = target.clusterNodes.map((url) => parseRedisUrl(url));
  const { enableOfflineQueue, ...perNode } = modeOptions(mode);
  return new Cluster(
    seeds.map((seed) => ({ host: seed.host, port: seed.port })),
    {
      lazyConnect: true,
      clusterRetryStrategy: retryStrategy,
      enableOfflineQueue: enableOfflineQueue ?? true,
      redisOptions: { ...endpointOptions(seeds[0]!), ...perNode },
    },
  );
}
