import { createHash } from 'node:crypto';
import type { RedisClientType, RedisClusterType } from '@redis/client';

/** A Lua script and its SHA-1, worked out once: EVALSHA needs no SCRIPT LOAD first. */
export interface RedisScript {
  source: string;
  sha: string;
}

export function redisScript(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Runs `script` with EVALSHA: one round trip. When Redis has not seen it (first use, a restart, a
 * failover, `SCRIPT FLUSH`: NOSCRIPT), EVAL sends the source once, which caches it again.
 *
 * ```ts
 * const reply = await runScript(client, RELEASE_IF_OWNER, { keys: [lease], arguments: [token] });
 * ```
 */
export async function runScript(
  // A cluster client sends it to the node of the first key's slot (every key must share that slot).
  client: RedisClientType | RedisClusterType,
  script: RedisScript,
  call: { keys: string[]; arguments: string[] },
): Promise<unknown> {
  try {
    return await (client as RedisClientType).evalSha(script.sha, call);
  } catch (error) {
    if (!String(error).includes('NOSCRIPT')) throw error;
    return (client as RedisClientType).eval(script.source, call);
  }
}

/** Resolves true once `client` is ready, false after `timeoutMs` (and leaves no listener behind). */
export function whenReady(client: RedisClientType, timeoutMs: number): Promise<boolean> {
  if (client.isReady) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve(client.isReady);
    };
    const timer = setTimeout(done, timeoutMs);
    client.once('ready', done);
  });
}
