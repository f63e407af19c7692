import { describe, expect, it } from 'vitest';
import { type CacheRecord, decodeRecord, encodeRecord, mayReplace } from './cache-record.js';
import { createCacheStore } from './cache.module.js';
import type { CacheModuleOptions } from './cache.options.js';

describe('cache records', () => {
  it('round-trip any body, separators included', () => {
    const record: CacheRecord = {
      version: 12,
      status: 200,
      body: '{"a":"x|y\\n","b":"\n|\n"}',
      expiresAt: 1_764_160_000_000,
      computeMs: 4,
    };
    expect(decodeRecord(encodeRecord(record))).toEqual(record);
    const notFound: CacheRecord = { version: 0, status: 404, body: 'Product not found', expiresAt: 5, computeMs: 0 };
    expect(decodeRecord(encodeRecord(notFound))).toEqual(notFound);
  });

  it('read anything else as no record (a miss)', () => {
    expect(decodeRecord('plain value')).toBeUndefined();
    expect(decodeRecord('x|200|y|z\n{}')).toBeUndefined();
  });

  it('let a value replace only an equal or older version', () => {
    expect(mayReplace(undefined, { version: 1 })).toBe(true);
    expect(mayReplace({ version: 1 }, { version: 2 })).toBe(true);
    expect(mayReplace({ version: 2 }, { version: 2 })).toBe(true);
    expect(mayReplace({ version: 3 }, { version: 2 })).toBe(false);
  });
});

describe('createCacheStore', () => {
  it('builds no store for none and a memory store for memory', async () => {
    expect(await createCacheStore({ store: 'none' })).toBeNull();
    expect((await createCacheStore({ store: 'memory', ttlMs: 1000, negativeTtlMs: 0, lockWaitMs: 0 }))?.kind).toBe(
      'memory',
    );
  });

  it('refuses an unknown store: no silent fallback', async () => {
    await expect(createCacheStore({ store: 'memcached' } as unknown as CacheModuleOptions)).rejects.toThrow(
      /Unknown cache store "memcached"/,
    );
  });
});
