import type { RedisClientType } from '@redis/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/eventually.js';
import { RedisServer } from '../../../test/support/redis-server.js';
import { TEST_REDIS_URL } from '../../../test/support/services.js';
import { closeNodeRedisClient, createNodeRedisClient } from './node-redis.js';
import { RedisConnections } from './redis-connections.js';

const clients: RedisClientType[] = [];
const servers: RedisServer[] = [];

function connectedClient(url: string): RedisClientType {
  const client = createNodeRedisClient({ url }, { connectTimeoutMs: 1000 });
  client.on('error', () => undefined);
  client.connect().catch(() => undefined);
  clients.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => closeNodeRedisClient(client)));
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

describe('RedisConnections.ping', () => {
  it('resolves while every held client answers', async () => {
    const connections = new RedisConnections({ url: TEST_REDIS_URL, keyPrefix: 'app' });
    connections.hold('cache', connectedClient(TEST_REDIS_URL));
    connections.hold('throttle', connectedClient(TEST_REDIS_URL));
    await eventually(() => connections.ping(500));
  });

  it('names the connection whose Redis is down, and resolves again once it reconnected', async () => {
    const server = await RedisServer.start();
    servers.push(server);
    const connections = new RedisConnections({ url: TEST_REDIS_URL, keyPrefix: 'app' });
    connections.hold('cache', connectedClient(TEST_REDIS_URL));
    connections.hold('counters', connectedClient(server.url));
    await eventually(() => connections.ping(500));

    await server.stop();
    await expect(connections.ping(500)).rejects.toThrow('Redis did not answer on the counters connection');

    await server.resume();
    // The client reconnects by itself (the reconnect policy): no new connection is opened.
    await eventually(() => connections.ping(500));
  });

  it('rejects when no client is held or every held one is closed', async () => {
    const connections = new RedisConnections({ url: TEST_REDIS_URL, keyPrefix: 'app' });
    await expect(connections.ping(500)).rejects.toThrow('no Redis connection is open');
    const client = connectedClient(TEST_REDIS_URL);
    connections.hold('cache', client);
    await eventually(() => connections.ping(500));
    await closeNodeRedisClient(client);
    await expect(connections.ping(500)).rejects.toThrow('no Redis connection is open');
  });

  it('rejects when its signal aborts (the readiness timeout)', async () => {
    const connections = new RedisConnections({ url: TEST_REDIS_URL, keyPrefix: 'app' });
    connections.hold('cache', connectedClient(TEST_REDIS_URL));
    await eventually(() => connections.ping(500));
    await expect(connections.ping(500, AbortSignal.abort())).rejects.toThrow('Redis did not answer on the cache');
  });
});
