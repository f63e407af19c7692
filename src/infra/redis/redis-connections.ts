import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { RedisClientType } from '@redis/client';
import { redisConfig } from '../../config/index.js';
import { CommandDeadlines } from './command-deadlines.js';
import type { RedisTarget } from './redis-target.js';

/**
 * The app's Redis: where it is (`target`, undefined without REDIS_URL) and the node-redis clients
 * the stores hold, which readiness pings (`ping`) instead of opening a connection of its own, so
 * ready means the connections that serve requests answer. Each store still owns (connects and
 * closes) its client; it registers it here with `hold`.
 */
@Injectable()
export class RedisConnections {
  readonly target: RedisTarget | undefined;
  readonly keyPrefix: string;
  private readonly held = new Map<string, RedisClientType>();
  private readonly deadlines = new CommandDeadlines(100);

  constructor(@Inject(redisConfig.KEY) config: ConfigType<typeof redisConfig>) {
    this.target = config.url === undefined ? undefined : { url: config.url };
    this.keyPrefix = config.keyPrefix;
  }

  /** Registers `client` (by the name of its user, e.g. `cache`) for `ping`. */
  hold(name: string, client: RedisClientType): void {
    this.held.set(name, client);
  }

  /**
   * PINGs every held client that is still open, each within `timeoutMs`; rejects naming the ones
   * that did not answer (a client that is reconnecting fails at once: no offline queue).
   */
  async ping(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const open = [...this.held].filter(([, client]) => client.isOpen);
    if (open.length === 0) throw new Error('no Redis connection is open');
    const aborted = new Promise<never>((_, reject) => {
      if (signal?.aborted) reject(new Error('aborted'));
      signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
    aborted.catch(() => undefined);
    const results = await Promise.allSettled(
      open.map(([, client]) => Promise.race([this.deadlines.within(client.ping(), timeoutMs), aborted])),
    );
    const down = open.filter((_, i) => results[i]!.status === 'rejected').map(([name]) => name);
    if (down.length > 0) throw new Error(`Redis did not answer on the ${down.join(', ')} connection`);
  }
}
