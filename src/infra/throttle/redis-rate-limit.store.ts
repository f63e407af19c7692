import { type ConsumeResult, RateLimitStore, type TierLimit, type TierState } from './rate-limit.store.js';
import { runScript } from '../../common/index.js';
import {
  closeNodeRedisClient,
  connectNodeRedisClient,
  createNodeRedisClient,
  isNodeRedisReady,
  type NodeRedisClient,
  nodeRedisReadyWithin,
  type RedisTarget,
} from '../redis/index.js';
import { SLIDING_WINDOW } from './sliding-window.script.js';

/** What a quota lease asks the script for (`RedisRateLimitStore.lease`). */
export interface LeaseRequest {
  wanted: number;
  leaseMs: number;
  handBack: number;
  /** The time (Redis ms) the handed-back slots were recorded at. */
  handBackAt: number;
}

/** A decision with the slots granted (1 = this request only) and the time they were recorded at. */
export interface LeaseDecision extends ConsumeResult {
  granted: number;
  recordedAt: number;
}

/** One server (`url`) or a cluster (`clusterNodes`), and: */
export type RedisRateLimitStoreOptions = RedisTarget & {
  /** `REDIS_KEY_PREFIX`: keys are `<prefix>:throttle:{<client>}:<bucket>`. */
  keyPrefix: string;
  /** How long to wait for the first connection at start-up before serving in the fail mode. */
  connectTimeoutMs?: number;
};

/**
 * The distributed store: one Lua script (loaded once, called with EVALSHA, re-sent with EVAL only
 * when Redis answers NOSCRIPT, e.g. after a restart) decides each request in one round trip.
 * A client's keys share one hash tag (`{client}`), so every tier of a request lives in one
 * Redis Cluster slot, as a multi-key script requires.
 *
 * Commands fail fast instead of queueing while Redis is away (no offline queue, no resend), so the
 * caller's fail mode applies at once; the connection keeps retrying in the background. Timeouts
 * and the breaker are `FailoverRateLimitStore`'s (a `RedisGuard`).
 */
export class RedisRateLimitStore extends RateLimitStore {
  readonly client: NodeRedisClient;
  private readonly keyPrefix: string;
  private readonly connectTimeoutMs: number;
  private readonly argumentsByTiers = new WeakMap<readonly TierLimit[], string[]>();
  private readonly peekArgumentsByTiers = new WeakMap<readonly TierLimit[], string[]>();

  constructor(options: RedisRateLimitStoreOptions) {
    super();
    this.keyPrefix = options.keyPrefix;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
    // node-redis (`@redis/client`, as the cache uses): its EVALSHA costs about half
    // the CPU of ioredis's, which is most of what rate limiting costs per request.
    this.client = createNodeRedisClient(options, { connectTimeoutMs: this.connectTimeoutMs });
    // Without a listener node-redis reports every failed reconnect as an unhandled 'error' event.
    this.client.on('error', () => undefined);
  }

  /** True while commands can be sent. */
  get ready(): boolean {
    return isNodeRedisReady(this.client);
  }

  /** For logs: `ready`, `reconnecting` or `closed`. */
  get state(): string {
    if (isNodeRedisReady(this.client)) return 'ready';
    return this.client.isOpen ? 'reconnecting' : 'closed';
  }

  /**
   * Starts connecting (it keeps retrying in the background) and waits up to `connectTimeoutMs`;
   * resolves false (never throws) when Redis is not there yet.
   */
  async connect(): Promise<boolean> {
    connectNodeRedisClient(this.client);
    if (!(await nodeRedisReadyWithin(this.client, this.connectTimeoutMs))) return false;
    // Only a head start: should it fail, the first EVALSHA answers NOSCRIPT and EVAL loads it.
    // (A cluster has one script cache per node: EVAL loads it on each on first use.)
    if ('isReady' in this.client) await this.client.scriptLoad(SLIDING_WINDOW.source).catch(() => undefined);
    return true;
  }

  async close(): Promise<void> {
    await closeNodeRedisClient(this.client);
  }

  private keyOf(client: string, bucket: string): string {
    return `${this.keyPrefix}:throttle:{${client}}:${bucket}`;
  }

  consume(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult> {
    return this.decide(client, tiers, this.argumentsOf(tiers, this.argumentsByTiers, '1'));
  }

  peek(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult> {
    return this.decide(client, tiers, this.argumentsOf(tiers, this.peekArgumentsByTiers, '0'));
  }

  /**
   * One script call for a quota lease (quota-lease.ts): first hands back `handBack` unused slots
   * recorded at `handBackAt`, then, when `wanted` > 0, decides like `consume` and grants up to
   * `wanted` slots to spend within `leaseMs` (0 wanted: hand back and look only).
   */
  lease(client: string, tiers: readonly TierLimit[], request: LeaseRequest): Promise<LeaseDecision> {
    const record = request.wanted > 0 ? this.argumentsByTiers : this.peekArgumentsByTiers;
    const args = [
      ...this.argumentsOf(tiers, record, request.wanted > 0 ? '1' : '0'),
      String(request.wanted),
      String(request.leaseMs),
      String(request.handBack),
      String(request.handBackAt),
    ];
    return this.decide(client, tiers, args);
  }

  private async decide(client: string, tiers: readonly TierLimit[], args: string[]): Promise<LeaseDecision> {
    const keys = tiers.map((tier) => this.keyOf(client, tier.bucket));
    const reply = (await runScript(this.client, SLIDING_WINDOW, { keys, arguments: args })) as number[];
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
    const refusedBy = allowed ? undefined : refusingTier(states);
    return {
      allowed,
      retryAfterMs: allowed ? 0 : Math.max(1, retryAfterMs),
      refusedBy,
      tiers: states,
      granted: reply[2 + 2 * tiers.length] ?? 0,
      recordedAt: reply[3 + 2 * tiers.length] ?? 0,
    };
  }

  /**
   * The script's arguments (limit, window per tier, then whether to count) as strings: the same for
   * every request on these tiers, so worked out once per tier list.
   */
  private argumentsOf(
    tiers: readonly TierLimit[],
    cache: WeakMap<readonly TierLimit[], string[]>,
    record: '0' | '1',
  ): string[] {
    let args = cache.get(tiers);
    if (args === undefined) {
      args = [...tiers.flatMap((tier) => [String(tier.limit), String(tier.windowMs)]), record];
      cache.set(tiers, args);
    }
    return args;
  }
}

function refusingTier(states: TierState[]): string | undefined {
  let name: string | undefined;
  let longest = -1;
  states.forEach((state) => {
    if (state.remaining > 0) return;
    if (state.resetMs > longest) {
      longest = state.resetMs;
      name = state.name;
    }
  });
  return name;
}
