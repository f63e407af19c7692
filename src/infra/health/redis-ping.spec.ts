import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sparePort } from '../../../test/support/redis-server.js';
import { TEST_REDIS_URL } from '../../../test/support/services.js';
import { pingRedis } from './redis-ping.js';

/** A TCP peer that records what it receives and answers with `reply` (or stays silent). */
async function peer(reply: string | undefined): Promise<{ server: Server; port: number; received: () => string }> {
  let received = '';
  const server = createServer((socket) => {
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (reply !== undefined) socket.write(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, received: () => received };
}

describe('pingRedis', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('resolves against a real Redis', async () => {
    await expect(pingRedis(TEST_REDIS_URL, { timeoutMs: 1000 })).resolves.toBeUndefined();
  });

  it('rejects at once when nothing listens', async () => {
    await expect(pingRedis(`redis://127.0.0.1:${await sparePort()}`, { timeoutMs: 1000 })).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });

  it('rejects when the server does not answer in time', async () => {
    const silent = await peer(undefined);
    servers.push(silent.server);
    await expect(pingRedis(`redis://127.0.0.1:${silent.port}`, { timeoutMs: 100 })).rejects.toThrow(
      /no answer within 100 ms/,
    );
  });

  it('authenticates and selects the database from the URL before PING', async () => {
    const fake = await peer('+OK\r\n+OK\r\n+PONG\r\n');
    servers.push(fake.server);
    await pingRedis(`redis://app:s%40cret@127.0.0.1:${fake.port}/3`, { timeoutMs: 1000 });
    expect(fake.received()).toBe(
      '*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$6\r\ns@cret\r\n' +
        '*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n' +
        '*1\r\n$4\r\nPING\r\n',
    );
  });

  it('rejects on an error reply, e.g. a wrong password', async () => {
    const fake = await peer('-WRONGPASS invalid username-password pair\r\n');
    servers.push(fake.server);
    await expect(pingRedis(`redis://:bad@127.0.0.1:${fake.port}`, { timeoutMs: 1000 })).rejects.toThrow(/WRONGPASS/);
  });

  it('stops when the signal aborts', async () => {
    const silent = await peer(undefined);
    servers.push(silent.server);
    const controller = new AbortController();
    const pending = pingRedis(`redis://127.0.0.1:${silent.port}`, { timeoutMs: 10_000, signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toThrow(/aborted/);
  });
});
