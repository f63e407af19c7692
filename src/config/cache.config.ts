import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { seconds } from '../common/index.js';
import { int, parseEnv } from './env.js';

const MIB = 1024 * 1024;

/**
 * The cache's defaults, defined once: the `CACHE_*` variables default to these, and so do the
 * options `CacheModule.forRoot` is given without them. Durations in ms, sizes in bytes.
 */
export const CACHE_DEFAULTS = {
  ttlMs: 60_000,
  negativeTtlMs: 5000,
  l1TtlMs: 0,
  lockWaitMs: 2000,
  /**
   * 1000: on a host with saturated cores 250 ms timed out healthy commands and opened the breaker
   * (sending the stampede to the database).
   */
  commandTimeoutMs: 1000,
  writeTimeoutMs: 2000,
  staleIfErrorMs: 300_000,
  breakerThreshold: 3,
  breakerHalfOpenMs: 2000,
  bounds: { maxEntries: 10_000, maxBytes: 64 * MIB, maxEntryBytes: 512 * 1024 },
} as const;

const inSeconds = (ms: number): number => ms / 1000;

export const cacheEnvSchema = z.object({
  REDIS_URL: z.string().optional(),
  CACHE_STORE: z.enum(['memory', 'redis', 'none'], { error: 'expected memory, redis or none' }).optional(),
  CACHE_TTL_SECONDS: int(1, 86_400 * 30, inSeconds(CACHE_DEFAULTS.ttlMs)),
  CACHE_NEGATIVE_TTL_SECONDS: int(0, 3600, inSeconds(CACHE_DEFAULTS.negativeTtlMs)),
  CACHE_L1_TTL_MS: int(0, 60_000, CACHE_DEFAULTS.l1TtlMs),
  /**
   * The load lease's TTL: its holder renews it every quarter of this while its load runs, and
   * other misses wait as long as it lives, so this is the longest wait for a holder that died.
   * 0: misses never wait for another instance (each loads itself).
   */
  CACHE_LOCK_WAIT_MS: int(0, 60_000, CACHE_DEFAULTS.lockWaitMs),
  /** Per-command timeout on the cache's Redis connection: a slow Redis is a miss, not a slow request. */
  CACHE_COMMAND_TIMEOUT_MS: int(10, 10_000, CACHE_DEFAULTS.commandTimeoutMs),
  /** Timeout of a write-through (before a write is acknowledged); it also goes past an open breaker. */
  CACHE_WRITE_TIMEOUT_MS: int(10, 60_000, CACHE_DEFAULTS.writeTimeoutMs),
  /** How long past its TTL an entry is kept, to answer stale while the database is unavailable; 0 = off. */
  CACHE_STALE_IF_ERROR_SECONDS: int(0, 86_400, inSeconds(CACHE_DEFAULTS.staleIfErrorMs)),
  /** After the circuit breaker opens, how long before one request probes Redis again. */
  CACHE_BREAKER_HALF_OPEN_MS: int(100, 300_000, CACHE_DEFAULTS.breakerHalfOpenMs),
  /** Entries the in-process (memory) store keeps before evicting the oldest. */
  CACHE_MEMORY_MAX_ENTRIES: int(100, 10_000_000, CACHE_DEFAULTS.bounds.maxEntries),
  /** Bytes the memory store (and the L1 tier) may hold, two per character: past it the oldest entries go. */
  CACHE_MEMORY_MAX_BYTES: int(MIB, 16 * 1024 * MIB, CACHE_DEFAULTS.bounds.maxBytes),
  /** A value larger than this (two bytes per character) is not kept in the memory store or the L1 tier. */
  CACHE_MAX_ENTRY_BYTES: int(1024, 1024 * MIB, CACHE_DEFAULTS.bounds.maxEntryBytes),
});

export const cacheConfig = registerAs('cache', () => {
  const env = parseEnv(
    cacheEnvSchema.refine((e) => e.CACHE_STORE !== 'redis' || e.REDIS_URL, {
      path: ['CACHE_STORE'],
      error: 'redis needs REDIS_URL to be set',
    }),
  );
  return {
    store: env.CACHE_STORE ?? (env.REDIS_URL ? 'redis' : 'memory'),
    ttlMs: seconds(env.CACHE_TTL_SECONDS),
    negativeTtlMs: seconds(env.CACHE_NEGATIVE_TTL_SECONDS),
    l1TtlMs: env.CACHE_L1_TTL_MS,
    lockWaitMs: env.CACHE_LOCK_WAIT_MS,
    commandTimeoutMs: env.CACHE_COMMAND_TIMEOUT_MS,
    writeTimeoutMs: env.CACHE_WRITE_TIMEOUT_MS,
    staleIfErrorMs: seconds(env.CACHE_STALE_IF_ERROR_SECONDS),
    breakerHalfOpenMs: env.CACHE_BREAKER_HALF_OPEN_MS,
    memoryMaxEntries: env.CACHE_MEMORY_MAX_ENTRIES,
    memoryMaxBytes: env.CACHE_MEMORY_MAX_BYTES,
    maxEntryBytes: Math.min(env.CACHE_MAX_ENTRY_BYTES, env.CACHE_MEMORY_MAX_BYTES),
  } as const;
});
