import { redisScript, runScript } from '../../common/index.js';
import {
  closeNodeRedisClient,
  connectNodeRedisClient,
  createNodeRedisClient,
  type NodeRedisClient,
  nodeRedisReadyWithin,
  RedisGuard,
  type RedisTarget,
} from '../redis/index.js';
import {
  type BucketRange,
  bucketExpiresAt,
  bucketsOf,
  type CounterFamily,
  type CounterIncrement,
  type CountersStore,
  type MemberCount,
  type MemberTotals,
} from './counters.store.js';

/** One server (`url`) or a cluster (`clusterNodes`), and: */
export type RedisCountersOptions = RedisTarget & {
  /** `REDIS_KEY_PREFIX`: keys are `<prefix>:counters:{…}:…` (docs/popularity.md has the layout). */
  keyPrefix: string;
  /** Per-command timeout; a read past it fails (the route answers 503), a flush is retried. */
  commandTimeoutMs?: number;
  /** How long the breaker (open after 3 consecutive failures) waits before one call probes Redis again. */
  breakerHalfOpenMs?: number;
  /**
   * How long one union of a range's buckets is reused by `top` (ms): the cost of the union is then
   * paid at most once per range per this interval, across every instance. 0: never reused.
   */
  topReuseMs?: number;
};

// The union of a range's buckets, kept for ARGV[1] ms so that many readers share one ZUNIONSTORE,
// then its top ARGV[2] members. KEYS[1]: the union; KEYS[2..]: the buckets (one slot: one hash tag).
const TOP = redisScript(`
local reuse = tonumber(ARGV[1])
if reuse == 0 or redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZUNIONSTORE', KEYS[1], #KEYS - 1, unpack(KEYS, 2))
  if reuse > 0 then redis.call('PEXPIRE', KEYS[1], reuse) end
end
local top = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1, 'REV', 'WITHSCORES')
if reuse == 0 then redis.call('DEL', KEYS[1]) end
return top`);

/**
 * Counters in Redis: each bucket's counts are a sorted set (`ZINCRBY`), each member's distinct ids
 * per bucket a HyperLogLog (`PFADD`; standard error 0.81 %, at most 12 KiB per key). A flush is
 * one pipeline (on a cluster, one per node); every key expires once no window can reach its bucket.
 *
 * Key layout, Redis Cluster ready (every multi-key command stays in one slot):
 * - `<prefix>:counters:{<family>}:<bucket>`: the counts; one hash tag per family, so `top` unions
 *   any range of buckets in one slot.
 * - `<prefix>:counters:{<family>}:top:<from>-<to>`: a reused union (short-lived, same slot).
 * - `<prefix>:counters:{<family>:<member>}:ids:<bucket>`: one member's HyperLogLogs, one hash tag
 *   per member, so `PFCOUNT` over a range merges them in one slot and members spread over the cluster.
 */
export class RedisCountersStore implements CountersStore {
  readonly kind = 'redis';
  readonly client: NodeRedisClient;
  private readonly prefix: string;
  private readonly topReuseMs: number;
  private readonly guard: RedisGuard;

  constructor(options: RedisCountersOptions) {
    this.prefix = `${options.keyPrefix}:counters`;
    this.topReuseMs = options.topReuseMs ?? 1000;
    // Fail fast while Redis is away: a flush is retried from memory, a read answers 503.
    this.client = createNodeRedisClient(options, { connectTimeoutMs: 2000 });
    this.guard = new RedisGuard({
      commandTimeoutMs: options.commandTimeoutMs ?? 2000,
      breakerThreshold: 3,
      breakerHalfOpenMs: options.breakerHalfOpenMs ?? 1000,
    });
    // Without a listener node-redis reports every failed reconnect as an unhandled 'error' event.
    this.client.on('error', () => undefined);
  }

  /** Starts connecting (retrying in the background) and waits up to `timeoutMs`; never throws. */
  async connect(timeoutMs = 2000): Promise<boolean> {
    connectNodeRedisClient(this.client);
    return nodeRedisReadyWithin(this.client, timeoutMs);
  }

  async add(family: CounterFamily, increments: readonly CounterIncrement[]): Promise<void> {
    if (increments.length === 0) return;
    const commands: string[][] = [];
    const expiries = new Map<string, number>();
    for (const { bucket, member, count, ids } of increments) {
      const counts = this.countsKey(family, bucket);
      commands.push(['ZINCRBY', counts, String(count), member]);
      expiries.set(counts, bucketExpiresAt(family, bucket));
      if (ids.length > 0) {
        const distinct = this.idsKey(family, member, bucket);
        commands.push(['PFADD', distinct, ...ids]);
        expiries.set(distinct, bucketExpiresAt(family, bucket));
      }
    }
    // An absolute expiry: the same on every flush, so repeating it never extends a bucket's life.
    for (const [key, at] of expiries) commands.push(['PEXPIREAT', key, String(at)]);
    await this.guard.run(() => this.pipeline(commands));
  }

  async top(family: CounterFamily, range: BucketRange, limit: number): Promise<MemberCount[]> {
    const keys = [
      `${this.prefix}:{${family.name}}:top:${range.from}-${range.to}`,
      ...bucketsOf(range).map((bucket) => this.countsKey(family, bucket)),
    ];
    const reply = (await this.guard.run(() =>
      runScript(this.client, TOP, { keys, arguments: [String(this.topReuseMs), String(limit)] }),
    )) as string[];
    const top: MemberCount[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) top.push({ member: reply[i]!, count: Number(reply[i + 1]) });
    return top;
  }

  async totals(family: CounterFamily, member: string, ranges: readonly BucketRange[]): Promise<MemberTotals[]> {
    // Windows overlap (they all end now): each bucket's score is read once.
    const buckets = [...new Set(ranges.flatMap(bucketsOf))];
    const commands = [
      ...buckets.map((bucket) => ['ZSCORE', this.countsKey(family, bucket), member]),
      ...ranges.map((range) => ['PFCOUNT', ...bucketsOf(range).map((b) => this.idsKey(family, member, b))]),
    ];
    const replies = await this.guard.run(() => this.pipeline(commands));
    const scores = new Map(buckets.map((bucket, i) => [bucket, Number(replies[i] ?? 0)]));
    return ranges.map((range, i) => ({
      count: bucketsOf(range).reduce((sum, bucket) => sum + (scores.get(bucket) ?? 0), 0),
      distinct: Number(replies[buckets.length + i]),
    }));
  }

  async remove(family: CounterFamily, member: string, range: BucketRange): Promise<void> {
    await this.guard.run(() =>
      this.pipeline([
        ...bucketsOf(range).map((bucket) => ['ZREM', this.countsKey(family, bucket), member]),
        ['DEL', ...bucketsOf(range).map((bucket) => this.idsKey(family, member, bucket))],
      ]),
    );
  }

  /**
   * Sends `commands` (each `[NAME, key, …]`, every key of one command in one slot) together: one
   * pipeline to one server; on a cluster each goes to its key's node (node-redis pipelines the
   * commands bound for one node), as a flush touches many slots.
   */
  private pipeline(commands: string[][]): Promise<unknown[]> {
    if ('isReady' in this.client) {
      const pipeline = this.client.multi();
      for (const args of commands) pipeline.addCommand(args);
      return pipeline.execAsPipeline();
    }
    const cluster = this.client;
    return Promise.all(commands.map((args) => cluster.sendCommand(args[1], false, args)));
  }

  async close(): Promise<void> {
    this.guard.close();
    await closeNodeRedisClient(this.client);
  }

  private countsKey(family: CounterFamily, bucket: number): string {
    return `${this.prefix}:{${family.name}}:${bucket}`;
  }

  private idsKey(family: CounterFamily, member: string, bucket: number): string {
    return `${this.prefix}:{${family.name}:${member}}:ids:${bucket}`;
  }
}
