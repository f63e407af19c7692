import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The run's slice of Redis: one logical database and a unique key prefix, both cleaned up at the end. */
export interface BenchRedis {
  /** `redis://host:port/<db>`: what the service and the baselines get as REDIS_URL. */
  url: string;
  prefix: string;
  client: Redis;
  /** Removes every key under the prefix, then any key the run left outside it (only if the database was empty at the start). */
  cleanup(): Promise<{ removed: number; outsidePrefix: string[] }>;
}

export async function openBenchRedis(baseUrl: string, db: number): Promise<BenchRedis> {
  const url = new URL(baseUrl);
  url.pathname = `/${db}`;
  const client = new Redis(url.toString(), { lazyConnect: true, maxRetriesPerRequest: 2 });
  await client.connect();
  const emptyAtStart = (await client.dbsize()) === 0;
  const prefix = `bench-${randomBytes(3).toString('hex')}`;
  return {
    url: url.toString(),
    prefix,
    client,
    cleanup: async () => {
      let removed = await unlinkMatching(client, `${prefix}*`);
      const outsidePrefix: string[] = [];
      if (emptyAtStart) {
        // Keys a module wrote without REDIS_KEY_PREFIX: worth knowing about, and ours to remove.
        for (const key of await scanAll(client, '*')) outsidePrefix.push(key);
        removed += await unlinkMatching(client, '*');
      }
      client.disconnect();
      return { removed, outsidePrefix: summariseKeys(outsidePrefix) };
    },
  };
}

async function scanAll(client: Redis, match: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

async function unlinkMatching(client: Redis, match: string): Promise<number> {
  const keys = await scanAll(client, match);
  for (let i = 0; i < keys.length; i += 500) await client.unlink(...keys.slice(i, i + 500));
  return keys.length;
}

/** A few representative key shapes (ids replaced by `*`), not thousands of keys. */
function summariseKeys(keys: string[]): string[] {
  const shapes = new Set(keys.map((k) => k.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '*').replace(/\d+/g, 'N')));
  return [...shapes].slice(0, 10);
}
