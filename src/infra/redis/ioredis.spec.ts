import { describe, expect, it } from 'vitest';
import { ioredisConnection } from './ioredis.js';

describe('ioredisConnection', () => {
  it('takes the host, credentials, database and TLS from the URL', () => {
    const options = ioredisConnection({ url: 'rediss://app:s%40cret@[::1]:6380/3' }, 'wait');
    expect(options).toMatchObject({
      host: '::1',
      port: 6380,
      username: 'app',
      password: 's@cret',
      db: 3,
      tls: {},
      maxRetriesPerRequest: null,
    });
  });

  it('fails fast for producers and waits for workers', () => {
    const producer = ioredisConnection({ url: 'redis://127.0.0.1' }, 'fail-fast');
    expect(producer).toMatchObject({ port: 6379, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    expect(producer).not.toHaveProperty('db');
    expect(producer).not.toHaveProperty('tls');
    expect(ioredisConnection({ url: 'redis://127.0.0.1' }, 'wait')).not.toHaveProperty('enableOfflineQueue');
  });

  it('reconnects with the one policy: 50 ms doubling, capped near 1 s', () => {
    const { retryStrategy } = ioredisConnection({ url: 'redis://127.0.0.1' }, 'wait');
    expect(retryStrategy(1)).toBeGreaterThanOrEqual(50);
    expect(retryStrategy(1)).toBeLessThan(100);
    expect(retryStrategy(2)).toBeGreaterThanOrEqual(100);
    expect(retryStrategy(20)).toBeGreaterThanOrEqual(1000);
    expect(retryStrategy(20)).toBeLessThan(1050);
  });
});
