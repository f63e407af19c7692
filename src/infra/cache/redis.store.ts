import { Logger } from '@nestjs/common';
import type { RedisClientType } from '@redis/client';
import { type RedisScript, runScript, whenReady } from '../../common/index.js';
import { CACHE_DEFAULTS } from '../../config/index.js';
import { closeNodeRedisClient, createNodeRedisClient, RedisGuard } from '../redis/index.js';
import { type CacheRecord, decodeRecord, encodeRecord, fenceRecord } from './cache-record.js';
import type { CacheStore, StoreRead, StoreStatus, WriteMode, WriteOptions } from './cache.store.js';
import { BUMP, FENCE, GENERATIONS, RELEASE_IF_OWNER, RENEW_IF_OWNER, WRITE_IF_NEWER } from './redis.scripts.js';
import { WriteThroughRepairs } from './write-through-repairs.js';

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

/**
 * The Redis store on the node-redis v5 client (`@redis/client`). Fail-fast by design: a
 * short per-command timeout, no offline queue (a command sent while disconnected fails at once),
 * and a circuit breaker that stops sending after consecutive failures and probes for Redis's return.
 *
 * Writes in `commit` mode (write-through) try harder: a longer timeout, and the breaker does not
 * refuse them (it only counts reads and fills, so it still opens and closes on those).
 * A write-through that fails is remembered: this instance treats that key as a miss, and fences it
 * in Redis as soon as Redis answers again (retried every second): a valueless entry of the version
 * it wrote, which the version guard keeps any older value from replacing (see `WriteThroughRepairs.replay`).
 */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis' as const;
  readonly client: RedisClientType;
  private readonly logger = new Logger('Cache');
  private readonly guard: RedisGuard;
  /** Write-throughs that failed: their keys are misses here until fenced in Redis. */
  private readonly repairs: WriteThroughRepairs;
  private readonly entryPrefix: string;
  private readonly leasePrefix: string;
  private readonly tagPrefix: string;
  private outageLogged = false;
  private breakerOpenLogged = false;
  private readonly writeTimeoutMs: number;

  constructor(private readonly options: RedisStoreOptions) {
    this.writeTimeoutMs = Math.max(options.writeTimeoutMs ?? CACHE_DEFAULTS.writeTimeoutMs, options.commandTimeoutMs);
    this.entryPrefix = `${options.keyPrefix}:cache:`;
    this.leasePrefix = `${options.keyPrefix}:cache-lease:`;
    this.tagPrefix = `${options.keyPrefix}:cache-tag:`;
    this.repairs = new WriteThroughRepairs({
      fence: (key, version, ttlMs) => this.fence(key, version, ttlMs),
      delete: (key) => this.delete(key, 'commit'),
      bump: (tags) => this.bump(tags, 'commit'),
    });
    this.client = createNodeRedisClient(
      { url: options.url },
      { connectTimeoutMs: Math.max(options.commandTimeoutMs, 1000), commandsQueueMaxLength: 10_000 },
    );
    this.client.on('error', (error: unknown) => this.onClientError(error));
    this.client.on('ready', () => {
      if (this.outageLogged) this.logger.log('Redis cache connection is back');
      this.outageLogged = false;
      void this.repairs.replay();
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
      void this.repairs.replay();
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
    if (this.repairs.hasKey(key)) return { record: undefined, generations: tags.map(() => undefined) };
    if (tags.length === 0) {
      const raw = await this.run(() => this.client.get(this.entryPrefix + key));
      return { record: raw === null ? undefined : decodeRecord(raw), generations: [] };
    }
    const [raw, ...generations] = await this.run(() =>
      this.client.mGet([this.entryPrefix + key, ...tags.map((tag) => this.tagPrefix + tag)]),
    );
    return {
      record: raw === null || raw === undefined ? undefined : decodeRecord(raw),
      generations: generations.map((g, i) => (g === null || this.repairs.hasTag(tags[i]!) ? undefined : Number(g))),
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
      if (commit) this.repairs.keyConfirmed(key);
      return stored === 1;
    } catch (error) {
      // Only a committed write matters: a reader's failed fill is just not cached.
      if (commit) this.repairs.rememberKey(key, { version: record.version, ttlMs });
      throw error;
    }
  }

  async delete(key: string, mode?: WriteMode): Promise<void> {
    try {
      await this.run(() => this.client.del([this.entryPrefix + key, this.leasePrefix + key]), mode);
      this.repairs.keyConfirmed(key);
    } catch (error) {
      if (mode === 'commit') this.repairs.rememberKey(key, { ttlMs: 0 });
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
      this.repairs.tagsConfirmed(tags);
    } catch (error) {
      this.repairs.rememberTags(tags);
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
    this.repairs.close();
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

  /** The repair of a missed write-through (see `WriteThroughRepairs.replay`). */
  private async fence(key: string, version: number, ttlMs: number): Promise<void> {
    await this.script(
      FENCE,
      [this.entryPrefix + key, this.leasePrefix + key],
      [String(version), encodeRecord(fenceRecord(version)), String(Math.max(1, Math.round(ttlMs)))],
      'commit',
    );
  }

  private onClientError(error: unknown): void {
    // node-redis emits one error per failed reconnect attempt; log the outage once.
    if (this.outageLogged) return;
    this.outageLogged = true;
    this.logger.warn(`Redis cache connection failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
