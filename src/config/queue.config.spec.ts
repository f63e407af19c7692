import { afterEach, describe, expect, it } from 'vitest';
import { InvalidEnvironmentError } from './env.js';
import { queueConfig } from './queue.config.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/app';

function load(env: Record<string, string | undefined>): ReturnType<typeof queueConfig> {
  for (const key of [
    'QUEUE_CONCURRENCY',
    'IMPORT_CONCURRENCY',
    'DATABASE_POOL_SIZE',
    'WORKERS',
    'DATABASE_URL',
    'REDIS_URL',
    'QUEUE_DRIVER',
  ])
    delete process.env[key];
  for (const [key, value] of Object.entries(env)) if (value !== undefined) process.env[key] = value;
  return queueConfig();
}

function problemVariables(env: Record<string, string | undefined>): string[] {
  try {
    load(env);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEnvironmentError);
    return (error as InvalidEnvironmentError).problems.map((p) => p.variable);
  }
}

describe('queue workers and the database pool', () => {
  it('starts at the defaults: in-process workers use at most half of the pool', () => {
    const config = load({ DATABASE_URL });
    expect(config.workerProfiles.short.concurrency + config.workerProfiles.long.concurrency).toBeLessThanOrEqual(
      10 / 2,
    );
  });

  it.each([
    [{ DATABASE_URL, QUEUE_CONCURRENCY: '10' }],
    [{ DATABASE_URL, QUEUE_CONCURRENCY: '4', IMPORT_CONCURRENCY: '2' }],
    [{ DATABASE_URL, DATABASE_POOL_SIZE: '4', QUEUE_CONCURRENCY: '2' }],
  ])('refuses workers that could take the pool the API needs: %o', (env) => {
    expect(problemVariables(env)).toContain('QUEUE_CONCURRENCY');
  });

  it.each([
    [{ DATABASE_URL, DATABASE_POOL_SIZE: '30', QUEUE_CONCURRENCY: '10', IMPORT_CONCURRENCY: '5' }],
    // Workers apart: the API's pool is its own.
    [{ DATABASE_URL, WORKERS: 'false', QUEUE_CONCURRENCY: '50' }],
    // Embedded PGlite: one connection whatever the concurrency.
    [{ QUEUE_CONCURRENCY: '50' }],
  ])('accepts a configuration that leaves the API its connections: %o', (env) => {
    expect(problemVariables(env)).toEqual([]);
  });
});

describe('per-profile lock settings', () => {
  it('defaults to recovery in seconds for short jobs, and a longer lock for long ones (imports)', () => {
    const { workerProfiles } = load({});
    expect(workerProfiles.short).toEqual({
      concurrency: 4,
      lockDurationMs: 10_000,
      stalledIntervalMs: 2000,
      maxStalledCount: 2,
    });
    expect(workerProfiles.long).toEqual({
      concurrency: 1,
      lockDurationMs: 30_000,
      stalledIntervalMs: 15_000,
      maxStalledCount: 1,
    });
  });

  it('refuses a stalled-job check slower than the lock', () => {
    expect(problemVariables({ QUEUE_LOCK_DURATION_MS: '5000', QUEUE_STALLED_INTERVAL_MS: '5000' })).toContain(
      'QUEUE_STALLED_INTERVAL_MS',
    );
  });
});
