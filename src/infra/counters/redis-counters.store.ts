import type { RedisClientType } from '@redis/client';
import { redisScript, runScript, whenReady } from '../../common/index.js';
import { closeNodeRedisClient, createNodeRedisClient, RedisGuard } from '../redis/index.js';
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

export interface RedisCountersOptions {
  url: string;
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
}

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

// One bucket's view counts in one call. KEYS[1]: the bucket; ARGV[1]: its absolute expiry (ms);
// ARGV[2..]: member, count, member, count, …
const ADD_COUNTS = redisScript(`
for i = 2, #ARGV, 2 do redis.call('ZINCRBY', KEYS[1], ARGV[i + 1], ARGV[i]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])`);

// Distinct ids into several HyperLogLogs of one bucket and one shard (one slot) in one call.
// KEYS: the HyperLogLogs; ARGV[1]: their absolute expiry (ms); then per key, in KEYS order, the
// number of its ids followed by the ids.
const ADD_IDS = redisScript(`
local at = ARGV[1]
local cursor = 2
for k = 1, #KEYS do
  local last = cursor + tonumber(ARGV[cursor])
  -- unpack in steps: Lua's stack takes a few thousand values at most
  for i = cursor + 1, last, 1000 do
    redis.call('PFADD', KEYS[k], unpack(ARGV, i, math.min(i + 999, last)))
  end
  redis.call('PEXPIREAT', KEYS[k], at)
  cursor = last + 1
end`);

/**
 * A member's HyperLogLogs live in one of this many hash-tag shards: a flush is then a handful of
 * script calls whatever the number of members (one call per member cost about 6 µs of service
 * CPU each), and the shards still spread over a cluster's nodes.
 */
const ID_SHARDS = 16;

/** Keys and arguments per script call: bound how long one call keeps Redis busy. */
const KEYS_PER_CALL = 500;
const ARGS_PER_CALL = 10_000;

interface ScriptCall {
  keys: string[];
  arguments: string[];
}

/**
 * Counters in Redis: each bucket's counts are a sorted set (`ZINCRBY`), each member's distinct ids
 * per bucket a HyperLogLog (`PFADD`; standard error 0.81 %, at most 12 KiB per key). A flush is
 * one pipeline; every key expires once no window can reach its bucket.
 *
 * Key layout, Redis Cluster ready (every multi-key command stays in one slot):
 * - `<prefix>:counters:{<family>}:<bucket>`: the counts; one hash tag per family, so `top` unions
 *   any range of buckets in one slot.
 * - `<prefix>:counters:{<family>}:top:<from>-<to>`: a reused union (short-lived, same slot).
 * - `<prefix>:counters:{<family>:ids:<shard>}:<member>:<bucket>`: one member's HyperLogLogs, in one
 *   of `ID_SHARDS` hash tags chosen by the member, so `PFCOUNT` over a range merges them in one slot,
 *   a flush writes each shard in one call, and the shards spread over a cluster.
 */
export class RedisCountersStore implements CountersStore {
  readonly kind = 'redis';
  readonly client: RedisClientType;
  private readonly prefix: string;
  private readonly topReuseMs: number;
  private readonly guard: RedisGuard;

  constructor(options: RedisCountersOptions) {
    this.prefix = `${options.keyPrefix}:counters`;
    this.topReuseMs = options.topReuseMs ?? 1000;
    // Fail fast while Redis is away: a flush is retried from memory, a read answers 503.
    this.client = createNodeRedisClient({ url: options.url }, { connectTimeoutMs: 2000 });
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
    this.client.connect().catch(() => undefined);
    return whenReady(this.client, timeoutMs);
  }

  async add(family: CounterFamily, increments: readonly CounterIncrement[]): Promise<void> {
    if (increments.length === 0) return;
    // A few script calls whatever the number of members, all sent at once (node-redis pipelines
    // the commands issued in one tick): one per bucket for the counts, one per bucket and shard
    // for the ids, split where a call would grow past the bounds above.
    const counts = new Map<number, ScriptCall[]>();
    const ids = new Map<string, ScriptCall[]>();
    for (const { bucket, member, count, ids: seen } of increments) {
      const at = String(bucketExpiresAt(family, bucket));
      const countsCall = openCall(counts, bucket, [this.countsKey(family, bucket)], at, 2);
      countsCall.arguments.push(member, String(count));
      if (seen.length === 0) continue;
      const idsCall = openCall(ids, `${bucket}:${shardOf(member)}`, [], at, seen.length + 1);
      idsCall.keys.push(this.idsKey(family, member, bucket));
      idsCall.arguments.push(String(seen.length), ...seen);
    }
    await this.guard.run(() => {
      const calls: Promise<unknown>[] = [];
      for (const group of counts.values())
        for (const call of group) calls.push(runScript(this.client, ADD_COUNTS, call));
      for (const group of ids.values()) for (const call of group) calls.push(runScript(this.client, ADD_IDS, call));
      return Promise.all(calls);
    });
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
    const pipeline = this.client.multi();
    for (const bucket of buckets) pipeline.zScore(this.countsKey(family, bucket), member);
    for (const range of ranges) pipeline.pfCount(bucketsOf(range).map((b) => this.idsKey(family, member, b)));
    const replies = await this.guard.run(() => pipeline.execAsPipeline());
    const scores = new Map(buckets.map((bucket, i) => [bucket, Number(replies[i] ?? 0)]));
    return ranges.map((range, i) => ({
      count: bucketsOf(range).reduce((sum, bucket) => sum + (scores.get(bucket) ?? 0), 0),
      distinct: Number(replies[buckets.length + i]),
    }));
  }

  async remove(family: CounterFamily, member: string, range: BucketRange): Promise<void> {
    const pipeline = this.client.multi();
    for (const bucket of bucketsOf(range)) pipeline.zRem(this.countsKey(family, bucket), member);
    pipeline.del(bucketsOf(range).map((bucket) => this.idsKey(family, member, bucket)));
    await this.guard.run(() => pipeline.execAsPipeline());
  }

  async close(): Promise<void> {
    this.guard.close();
    await closeNodeRedisClient(this.client);
  }

  private countsKey(family: CounterFamily, bucket: number): string {
    return `${this.prefix}:{${family.name}}:${bucket}`;
  }

  private idsKey(family: CounterFamily, member: string, bucket: number): string {
    return `${this.prefix}:{${family.name}:ids:${shardOf(member)}}:${member}:${bucket}`;
  }
}

/**
 * The group's last call, or a new one (`keys` copied, ARGV[1] = `at`) when that one already has
 * `KEYS_PER_CALL` keys or `adding` more arguments would take it past `ARGS_PER_CALL`.
 */
function openCall(
  groups: Map<string | number, ScriptCall[]>,
  group: string | number,
  keys: string[],
  at: string,
  adding: number,
): ScriptCall {
  let calls = groups.get(group);
  if (!calls) groups.set(group, (calls = []));
  const last = calls.at(-1);
  if (last && last.keys.length < KEYS_PER_CALL && last.arguments.length + adding <= ARGS_PER_CALL) return last;
  const call = { keys: [...keys], arguments: [at] };
  calls.push(call);
  return call;
}

/** The member's HyperLogLog shard: a stable string hash (FNV-1a), the same in every process. */
function shardOf(member: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < member.length; i++) hash = Math.imul(hash ^ member.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % ID_SHARDS;
}
