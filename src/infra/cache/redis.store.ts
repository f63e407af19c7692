import { Logger } from '@nestjs/common';
import type { RedisClientType } from '@redis/client';
import { type RedisScript, redisScript, runScript, whenReady } from '../../common/index.js';
import { CACHE_DEFAULTS } from '../../config/index.js';
import { closeNodeRedisClient, createNodeRedisClient, RedisGuard } from '../redis/index.js';
import { type CacheRecord, decodeRecord, encodeRecord, fenceRecord } from './cache-record.js';
import type { CacheStore, StoreRead, StoreStatus, WriteMode, WriteOptions } from './cache.store.js';

export interface RedisStoreOptions {
  url: string;
  /** Every key lives under `<keyPrefix>:cache…`, so suites and deployments sharing a Redis stay apart. */
  keyPrefix: string;
  /** Per-command timeout: past it the command fails (a miss), it is never waited for. */
  commandTimeoutMs: number;
  /**
   * Timeout of `commit` writes (write-through before a write is acknowledged; default 2000, never
   * below `commandTimeoutMs`). They also bypass the breaker: a breaker opened by slow reads must
   * not leave an acknowledged write out of Redis.
   */
  writeTimeoutMs?: number;
  /** After this many consecutive failures the breaker opens and calls fail at once. */
  breakerThreshold?: number;
  /** How long the breaker stays open before letting one probe through. */
  breakerHalfOpenMs: number;
}

// Stores only if nothing newer is there. A fill (lease token given) stores only while it still
// holds the lease it loaded under, and releases it; a write-through (commit) takes the lease from
// any reader loading now, whose value may predate the commit.
// KEYS: entry, lease. ARGV: version, value, ttl ms, lease token ('' for none), '1' for a commit write.
const WRITE_IF_NEWER = redisScript(`
if ARGV[4] ~= '' then
  if redis.call('GET', KEYS[2]) ~= ARGV[4] then return 0 end
  redis.call('DEL', KEYS[2])
elseif ARGV[5] == '1' then
  redis.call('DEL', KEYS[2])
end
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+)|'))
  if version and version > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`);

// The repair of a write-through that could not be confirmed: takes the lease away and leaves a
// fence (a valueless entry of that version) unless that version or a newer one is there.
// KEYS: entry, lease. ARGV: version, fence, ttl ms.
const FENCE = redisScript(`
redis.call('DEL', KEYS[2])
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+)|'))
  if version and version >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`);

// KEYS: lease. ARGV: token.
const RELEASE_IF_OWNER = redisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

// KEYS: lease. ARGV: token, ttl ms.
const RENEW_IF_OWNER = redisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`);

// Generations start at the clock (ms) so one lost with its key can never return to an old value.
// KEYS: generation keys. ARGV: now.
const GENERATIONS = redisScript(`
local out = {}
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if not value then value = ARGV[1]; redis.call('SET', key, value) end
  out[i] = value
end
return out`);

const BUMP = redisScript(`
local now = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local next = tonumber(redis.call('GET', key) or '0') + 1
  if next < now then next = now end
  redis.call('SET', key, string.format('%.0f', next))
end
return 1`);

/** How often missed write-throughs are retried while any is left. */
const REPLAY_RETRY_MS = 1000;
/** Repairs sent together (node-redis pipelines concurrent commands). */
const REPAIR_BATCH = 100;

/** A write-through this instance could not confirm: the version it wrote (none for a delete) and the entry's life. */
interface Repair {
  version?: number;
  ttlMs: number;
}

/**
 * The Redis store on the node-redis v5 client (`@redis/client`). Fail-fast by design: a
 * short per-command timeout, no offline queue (a command sent while disconnected fails at once),
 * and a circuit breaker that stops sending after consecutive failures and probes for Redis's return.
 *
 * Writes in `commit` mode (write-through) try harder: a longer timeout, and the breaker does not
 * refuse them (it only counts reads and fills, so it still opens and closes on those).
 * A write-through that fails is remembered: this instance treats that key as a miss, and fences it
 * in Redis as soon as Redis answers again (retried every second): a valueless entry of the version
 * it wrote, which the version guard keeps any older value from replacing (see `replayRepairs`).
 */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis' as const;
  readonly client: RedisClientType;
  private readonly logger = new Logger('Cache');
  private readonly guard: RedisGuard;
  /** Keys whose write-through failed: a miss here until the key is fenced in Redis (see replayRepairs). */
  private readonly repairs = new Map<string, Repair>();
  private readonly repairTags = new Set<string>();
  private readonly entryPrefix: string;
  private readonly leasePrefix: string;
  private readonly tagPrefix: string;
  private outageLogged = false;
  private breakerOpenLogged = false;
  private readonly writeTimeoutMs: number;
  private replayTimer: NodeJS.Timeout | undefined;
  private replaying = false;

  constructor(private readonly options: RedisStoreOptions) {
    this.writeTimeoutMs = Math.max(options.writeTimeoutMs ?? CACHE_DEFAULTS.writeTimeoutMs, options.commandTimeoutMs);
    this.entryPrefix = `${options.keyPrefix}:cache:`;
    this.leasePrefix = `${options.keyPrefix}:cache-lease:`;
    this.tagPrefix = `${options.keyPrefix}:cache-tag:`;
    this.client = createNodeRedisClient(
      { url: options.url },
      { connectTimeoutMs: Math.max(options.commandTimeoutMs, 1000), commandsQueueMaxLength: 10_000 },
    );
    this.client.on('error', (error: unknown) => this.onClientError(error));
    this.client.on('ready', () => {
      if (this.outageLogged) this.logger.log('Redis cache connection is back');
      this.outageLogged = false;
      void this.replayRepairs();
    });
    this.guard = new RedisGuard({
      commandTimeoutMs: options.commandTimeoutMs,
      breakerThreshold: options.breakerThreshold ?? CACHE_DEFAULTS.breakerThreshold,
      breakerHalfOpenMs: options.breakerHalfOpenMs,
    });
    // Each failed probe re-opens the breaker: say so once per outage.
    this.guard.onBreak(() => {
      if (this.breakerOpenLogged) return;
      this.breakerOpenLogged = true;
      this.logger.warn('Redis cache circuit opened: reads go to the database until it recovers');
    });
    this.guard.onReset(() => {
      this.breakerOpenLogged = false;
      void this.replayRepairs();
    });
  }

  /** Starts connecting without waiting: the service starts (and serves from the database) while Redis is away. */
  connect(): void {
    this.client.connect().catch((error: unknown) => this.onClientError(error));
  }

  /** Resolves once connected, or after `timeoutMs` (start-up waits briefly so the first reads can hit). */
  async ready(timeoutMs: number): Promise<void> {
    await whenReady(this.client, timeoutMs);
  }

  async read(key: string, tags: readonly string[]): Promise<StoreRead> {
    if (this.repairs.size > 0 && this.repairs.has(key))
      return { record: undefined, generations: tags.map(() => undefined) };
    if (tags.length === 0) {
      const raw = await this.run(() => this.client.get(this.entryPrefix + key));
      return { record: raw === null ? undefined : decodeRecord(raw), generations: [] };
    }
    const [raw, ...generations] = await this.run(() =>
      this.client.mGet([this.entryPrefix + key, ...tags.map((tag) => this.tagPrefix + tag)]),
    );
    return {
      record: raw === null || raw === undefined ? undefined : decodeRecord(raw),
      generations: generations.map((g, i) => (g === null || this.repairTags.has(tags[i]!) ? undefined : Number(g))),
    };
  }

  async generations(tags: readonly string[]): Promise<number[]> {
    if (tags.length === 0) return [];
    const values = (await this.script(
      GENERATIONS,
      tags.map((tag) => this.tagPrefix + tag),
      [String(Date.now())],
    )) as string[];
    return values.map(Number);
  }

  async write(key: string, record: CacheRecord, ttlMs: number, options: WriteOptions = {}): Promise<boolean> {
    const commit = options.mode === 'commit';
    try {
      const stored = await this.script(
        WRITE_IF_NEWER,
        [this.entryPrefix + key, this.leasePrefix + key],
        [
          String(record.version),
          encodeRecord(record),
          String(Math.max(1, Math.round(ttlMs))),
          options.lease ?? '',
          commit ? '1' : '',
        ],
        options.mode,
      );
      // Landed (or refused because a newer version is there): Redis holds this version or a newer one.
      if (commit) this.repairs.delete(key);
      return stored === 1;
    } catch (error) {
      // Only a committed write matters: a reader's failed fill is just not cached.
      if (commit) this.remember(key, { version: record.version, ttlMs });
      throw error;
    }
  }

  async delete(key: string, mode?: WriteMode): Promise<void> {
    try {
      await this.run(() => this.client.del([this.entryPrefix + key, this.leasePrefix + key]), mode);
      this.repairs.delete(key);
    } catch (error) {
      if (mode === 'commit') this.remember(key, { ttlMs: 0 });
      throw error;
    }
  }

  async bump(tags: readonly string[], mode?: WriteMode): Promise<void> {
    if (tags.length === 0) return;
    try {
      await this.script(
        BUMP,
        tags.map((tag) => this.tagPrefix + tag),
        [String(Date.now())],
        mode,
      );
      for (const tag of tags) this.repairTags.delete(tag);
    } catch (error) {
      for (const tag of tags) this.repairTags.add(tag);
      throw error;
    }
  }

  async acquire(key: string, token: string, ttlMs: number): Promise<boolean> {
    const reply = await this.run(() =>
      this.client.set(this.leasePrefix + key, token, {
        condition: 'NX',
        expiration: { type: 'PX', value: Math.max(1, Math.round(ttlMs)) },
      }),
    );
    return reply === 'OK';
  }

  async renew(key: string, token: string, ttlMs: number): Promise<boolean> {
    return (
      (await this.script(RENEW_IF_OWNER, [this.leasePrefix + key], [token, String(Math.max(1, Math.round(ttlMs)))])) ===
      1
    );
  }

  async release(key: string, token: string): Promise<void> {
    await this.script(RELEASE_IF_OWNER, [this.leasePrefix + key], [token]);
  }

  /** The pub/sub channel `name` under this store's prefix. */
  channelName(name: string): string {
    return `${this.options.keyPrefix}:${name}`;
  }

  /** Sends one message (the tiered store's invalidations), fail-fast unless `mode` is `commit`. */
  async publish(channel: string, message: string, mode?: WriteMode): Promise<void> {
    await this.run(() => this.client.publish(this.channelName(channel), message), mode);
  }

  status(): StoreStatus {
    return { kind: this.kind, breaker: this.guard.state, ...this.guard.counts };
  }

  async close(): Promise<void> {
    this.guard.close();
    clearTimeout(this.replayTimer);
    this.replayTimer = undefined;
    await closeNodeRedisClient(this.client);
  }

  private run<T>(command: () => Promise<T>, mode: WriteMode = 'fill'): Promise<T> {
    // A commit goes past the breaker, with the longer timeout: see `writeTimeoutMs`.
    return this.guard.run(command, mode === 'commit' ? { timeoutMs: this.writeTimeoutMs, pastBreaker: true } : {});
  }

  /** EVALSHA (EVAL once after a Redis restart forgot the script), under the breaker and deadline. */
  private script(script: RedisScript, keys: string[], args: string[], mode?: WriteMode): Promise<unknown> {
    return this.run(() => runScript(this.client, script, { keys, arguments: args }), mode);
  }

  private remember(key: string, repair: Repair): void {
    const known = this.repairs.get(key);
    if (known !== undefined) {
      // Two missed write-throughs of one key: the fence takes the newer version (a delete has none).
      this.repairs.set(key, {
        version: Math.max(known.version ?? 0, repair.version ?? 0) || undefined,
        ttlMs: Math.max(known.ttlMs, repair.ttlMs),
      });
      return;
    }
    // Bounded: past this many, the oldest is forgotten and only its TTL limits how long it can be stale.
    if (this.repairs.size >= 10_000) {
      const oldest = this.repairs.keys().next();
      if (!oldest.done) this.repairs.delete(oldest.value);
    }
    this.repairs.set(key, repair);
    this.scheduleReplay();
  }

  /**
   * Retries the missed writes every second until none is left. The breaker's reset and the
   * client's reconnect also trigger it, but an instance whose reads never failed (so whose breaker
   * never opened) must still replay, or another instance's older replay could win.
   */
  private scheduleReplay(): void {
    if (this.replayTimer !== undefined) return;
    this.replayTimer = setTimeout(() => {
      this.replayTimer = undefined;
      void this.replayRepairs();
    }, REPLAY_RETRY_MS);
    this.replayTimer.unref();
  }

  /**
   * Fences every key whose write-through was missed. Never a write-back of the remembered value:
   * another instance may have committed (and written) a newer version meanwhile, or a Redis that
   * restarted empty may have lost it, so that value may be old. Never a plain delete either: while
   * this instance could not reach Redis, another one may have stored a value it loaded before the
   * missed write's commit (and its reader may still be about to), and a delete would leave the
   * version guard nothing to refuse that with. The fence (the missed version, no value) makes the
   * key a miss, takes the lease from any reader loading it, and refuses every older write, so
   * the next read anywhere loads the current row and stores it.
   */
  private async replayRepairs(): Promise<void> {
    if (this.repairs.size === 0 && this.repairTags.size === 0) return;
    if (this.replaying) return;
    this.replaying = true;
    const pending = `${this.repairs.size} cache entries and ${this.repairTags.size} tags whose write-through failed during the outage`;
    try {
      if (this.repairTags.size > 0) await this.bump([...this.repairTags], 'commit');
      const keys = [...this.repairs.keys()];
      for (let i = 0; i < keys.length; i += REPAIR_BATCH)
        await Promise.all(keys.slice(i, i + REPAIR_BATCH).map((key) => this.repair(key)));
      this.logger.log(`Fenced ${pending}`);
    } catch (error) {
      // Still failing (counted in the store's failures): what is left is retried in a second.
      this.logger.debug(`clearing ${pending} failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.replaying = false;
      if (this.repairs.size > 0 || this.repairTags.size > 0) this.scheduleReplay();
    }
  }

  private async repair(key: string): Promise<void> {
    const repair = this.repairs.get(key);
    if (repair === undefined) return;
    if (repair.version === undefined) return this.delete(key, 'commit');
    await this.script(
      FENCE,
      [this.entryPrefix + key, this.leasePrefix + key],
      [
        String(repair.version),
        encodeRecord(fenceRecord(repair.version)),
        String(Math.max(1, Math.round(repair.ttlMs))),
      ],
      'commit',
    );
    // A newer write-through of this key may have been missed while this ran: keep that one.
    if (this.repairs.get(key) === repair) this.repairs.delete(key);
  }

  private onClientError(error: unknown): void {
    // node-redis emits one error per failed reconnect attempt; log the outage once.
    if (this.outageLogged) return;
    this.outageLogged = true;
    this.logger.warn(`Redis cache connection failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
