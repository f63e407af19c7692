import { createClient, createCluster, type RedisClientType, type RedisClusterType } from '@redis/client';
import { whenReady } from '../../common/index.js';
import { parseRedisUrl } from '../../config/index.js';
import { reconnectDelay } from './reconnect.js';
import { isClusterTarget, type RedisTarget } from './redis-target.js';

export interface NodeRedisClientOptions {
  /** How long one connection attempt may take. */
  connectTimeoutMs: number;
  /** Commands queued on the socket at most, past which a command fails at once (back-pressure). */
  commandsQueueMaxLength?: number;
}

/**
 * A node-redis (`@redis/client`) client, fail-fast: no offline queue (a command sent while
 * disconnected fails at once, so the caller's fallback applies) while the connection retries in
 * the background with the one reconnect policy. Timeouts and the breaker are `RedisGuard`'s.
 * Not connected yet: the owner calls `connect()`, listens to `error` and closes it.
 * On a cluster target, node-redis's cluster client, each node's connection with the same options.
 */
export function createNodeRedisClient(target: { url: string }, options: NodeRedisClientOptions): RedisClientType;
export function createNodeRedisClient(
  target: { clusterNodes: readonly string[] },
  options: NodeRedisClientOptions,
): RedisClusterType;
export function createNodeRedisClient(
  target: RedisTarget,
  options: NodeRedisClientOptions,
): RedisClientType | RedisClusterType;
export function createNodeRedisClient(
  target: RedisTarget,
  options: NodeRedisClientOptions,
): RedisClientType | RedisClusterType {
  const common = {
    disableOfflineQueue: true,
    ...(options.commandsQueueMaxLength !== undefined ? { commandsQueueMaxLength: options.commandsQueueMaxLength } : {}),
  };
  const socket = { connectTimeout: options.connectTimeoutMs, reconnectStrategy: reconnectDelay };
  if (!isClusterTarget(target)) return createClient({ url: target.url, ...common, socket });
  // The nodes the cluster reports are reached with `defaults`: the seeds' credentials and TLS.
  const seed = parseRedisUrl(target.clusterNodes[0]!);
  return createCluster({
    rootNodes: target.clusterNodes.map((url) => ({ url })),
    defaults: {
      ...common,
      ...(seed.username !== undefined ? { username: seed.username } : {}),
      ...(seed.password !== undefined ? { password: seed.password } : {}),
      socket: { ...socket, ...(seed.tls ? { tls: true as const } : {}) },
    },
  });
}

/** Closes `client` whatever its state: gracefully when connected (replies in flight arrive), else at once. */
export async function closeNodeRedisClient(client: RedisClientType | RedisClusterType): Promise<void> {
  if ('isReady' in client) {
    if (client.isReady) await client.close().catch(() => client.destroy());
    else if (client.isOpen) client.destroy();
    return;
  }
  const state = clusters.get(client);
  if (state) state.closed = true;
  if (client.isOpen) await client.close().catch(() => client.destroy());
}

export type NodeRedisClient = RedisClientType | RedisClusterType;

interface ClusterConnection {
  connected: Promise<void>;
  ready: boolean;
  closed: boolean;
}

/** A cluster client has no `isReady` of its own, nor a background retry of `connect()`: kept here. */
const clusters = new WeakMap<RedisClusterType, ClusterConnection>();

/**
 * Starts connecting and keeps trying in the background (never rejects). One server: node-redis
 * reconnects by itself. A cluster: node-redis gives up when no seed answers at `connect()`, so it
 * is retried here with the reconnect policy until it succeeds or the client is closed.
 */
export function connectNodeRedisClient(client: NodeRedisClient): void {
  if ('isReady' in client) {
    client.connect().catch(() => undefined);
    return;
  }
  if (clusters.has(client)) return;
  const state: ClusterConnection = { connected: Promise.resolve(), ready: false, closed: false };
  state.connected = (async () => {
    for (let attempt = 0; !state.closed; attempt++) {
      try {
        await client.connect();
        state.ready = true;
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, reconnectDelay(attempt)).unref());
      }
    }
  })();
  clusters.set(client, state);
}

/** True while commands can be sent (a cluster: connected once and not closed since). */
export function isNodeRedisReady(client: NodeRedisClient): boolean {
  if ('isReady' in client) return client.isReady;
  return client.isOpen && clusters.get(client)?.ready === true;
}

/** Waits up to `timeoutMs` for the connection `connectNodeRedisClient` started; true when ready. */
export async function nodeRedisReadyWithin(client: NodeRedisClient, timeoutMs: number): Promise<boolean> {
  if ('isReady' in client) return whenReady(client, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([clusters.get(client)?.connected ?? Promise.resolve(), timeout]);
  clearTimeout(timer);
  return isNodeRedisReady(client);
}
