import { createClient, type RedisClientType } from '@redis/client';
import type { RedisTarget } from './redis-target.js';
import { reconnectDelay } from './reconnect.js';

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
 */
export function createNodeRedisClient(target: RedisTarget, options: NodeRedisClientOptions): RedisClientType {
  return createClient({
    url: target.url,
    disableOfflineQueue: true,
    ...(options.commandsQueueMaxLength !== undefined ? { commandsQueueMaxLength: options.commandsQueueMaxLength } : {}),
    socket: { connectTimeout: options.connectTimeoutMs, reconnectStrategy: reconnectDelay },
  });
}

/** Closes `client` whatever its state: gracefully when connected (replies in flight arrive), else at once. */
export async function closeNodeRedisClient(client: RedisClientType): Promise<void> {
  if (client.isReady) await client.close().catch(() => client.destroy());
  else if (client.isOpen) client.destroy();
}
