import { Redis } from 'ioredis';
import { type ConsumeResult, RateLimitStore, type TierLimit, type TierState } from './rate-limit.store.js';
import { SLIDING_WINDOW_SCRIPT, SLIDING_WINDOW_SHA } from './sliding-window.script.js';

export interface RedisRateLimitStoreOptions {
  url: string;
  /** `REDIS_KEY_PREFIX`: keys are `<prefix>:throttle:{<client>}:<bucket>`. */
  keyPrefix: string;
  /** How long to wait for the first connection at start-up before serving in the fail mode. */
  connectTimeoutMs?: number;
}

/**
 * The distributed store: one Lua script (loaded once, called with EVALSHA, re-sent with EVAL only
 * when Redis answers NOSCRIPT, e.g. after a restart) decides each request in one round trip.
 * A client's keys share one hash tag (`{client}`), so every tier of a request lives in one
 * Redis Cluster slot, as a multi-key script requires.
 *
 * Commands fail fast instead of queueing while Redis is away (no offline queue, no resend), so the
 * caller's fail mode applies at once; the connection keeps retrying in the background.
 */
export class RedisRateLimitStore extends RateLimitStore {
  readonly client: Redis;
  private readonly keyPrefix: string;
  private readonly connectTimeoutMs: number;

  constructor(options: RedisRateLimitStoreOptions) {
    super();
    this.keyPrefix = options.keyPrefix;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
    this.client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      // Concurrent requests' scripts leave in one write (fewer syscalls under load); still one round trip each.
      enableAutoPipelining: true,
      connectTimeout: this.connectTimeoutMs,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    });
    // Without a listener ioredis reports every failed reconnect as an unhandled 'error' event.
    this.client.on('error', () => undefined);
  }

  /** True while commands can be sent. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Connects and loads the script; resolves false (never throws) when Redis is not there yet. */
  async connect(): Promise<boolean> {
    try {
      await this.client.connect();
      await this.client.script('LOAD', SLIDING_WINDOW_SCRIPT);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => this.client.disconnect());
    } else {
      this.client.disconnect();
    }
  }

  keyOf(client: string, bucket: string): string {
    return `${this.keyPrefix}:throttle:{${client}}:${bucket}`;
  }

  async consume(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult> {
    const keys = tiers.map((tier) => this.keyOf(client, tier.bucket));
    const args = tiers.flatMap((tier) => [tier.limit, tier.windowMs]);
    const reply = await this.run(keys, args);
    const allowed = reply[0] === 1;
    const retryAfterMs = reply[1] ?? 0;
    const states = tiers.map((tier, i): TierState => {
      const count = reply[2 + 2 * i] ?? 0;
      return {
        name: tier.name,
        limit: tier.limit,
        windowMs: tier.windowMs,
        remaining: Math.max(0, tier.limit - count),
        resetMs: Math.max(0, reply[3 + 2 * i] ?? 0),
      };
    });
    const refusedBy = allowed ? undefined : refusingTier(states, tiers);
    return { allowed, retryAfterMs: allowed ? 0 : Math.max(1, retryAfterMs), refusedBy, tiers: states };
  }

  private async run(keys: string[], args: number[]): Promise<number[]> {
    try {
      return (await this.client.evalsha(SLIDING_WINDOW_SHA, keys.length, ...keys, ...args)) as number[];
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      // Redis lost its script cache (restart, failover, SCRIPT FLUSH): EVAL runs it and caches it again.
      return (await this.client.eval(SLIDING_WINDOW_SCRIPT, keys.length, ...keys, ...args)) as number[];
    }
  }
}

/** The full tier with the longest wait (the script reports the wait, not which tier set it). */
function refusingTier(states: TierState[], tiers: readonly TierLimit[]): string | undefined {
  let name: string | undefined;
  let longest = -1;
  states.forEach((state, i) => {
    if (state.remaining > 0 || tiers[i] === undefined) return;
    if (state.resetMs > longest) {
      longest = state.resetMs;
      name = state.name;
    }
  });
  return name;
}
