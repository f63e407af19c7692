import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from './services.js';

/** Removes every key under `prefix` (a suite's REDIS_KEY_PREFIX) from `url`; for afterAll. */
export async function deleteKeys(prefix: string, url: string = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
