import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryRateLimitStore } from './memory-rate-limit.store.js';
import type { TierLimit } from './rate-limit.store.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const tier = (limit: number, windowMs: number, name = 'default'): TierLimit => ({
  name,
  bucket: name,
  limit,
  windowMs,
});

afterEach(() => {
  vi.useRealTimers();
});

describe('MemoryRateLimitStore', () => {
  it('never admits more than `limit` in any window-length span, across a window boundary', () => {
    const clock = manualClock();
    const store = new MemoryRateLimitStore({ clock: clock.now });
    const admitted: number[] = [];
    // One request every 7 ms for 10 windows of 1 s, limit 10: a fixed window would let 20 through around each boundary.
    for (let i = 0; i < 1_500; i++) {
      if (store.consumeNow('ip:a', [tier(10, 1_000)]).allowed) admitted.push(clock.now());
      clock.advance(7);
    }
    for (let i = 0; i + 10 < admitted.length; i++)
      expect(admitted[i + 10]! - admitted[i]!).toBeGreaterThanOrEqual(1_000);
    expect(admitted.length).toBeGreaterThanOrEqual(100);
  });

  it('tells exactly when the next request fits (Retry-After is not a guess)', () => {
    const clock = manualClock();
    const store = new MemoryRateLimitStore({ clock: clock.now });
    store.consumeNow('ip:a', [tier(2, 1_000)]);
    clock.advance(300);
    store.consumeNow('ip:a', [tier(2, 1_000)]);
    const refused = store.consumeNow('ip:a', [tier(2, 1_000)]);
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 700 });
    clock.advance(699);
    expect(store.consumeNow('ip:a', [tier(2, 1_000)]).allowed).toBe(false);
    clock.advance(1);
    expect(store.consumeNow('ip:a', [tier(2, 1_000)]).allowed).toBe(true);
  });

  it('stays bounded: 200 000 requests from 50 000 keys leave only live buckets once the window passes', () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const clock = manualClock();
    const store = new MemoryRateLimitStore({ clock: clock.now, sweepIntervalMs: 1_000, sweepBatch: 100 });
    const tiers = [tier(3, 60_000)];
    let refused = 0;
    for (let i = 0; i < 200_000; i++) {
      if (!store.consumeNow(`ip:client-${i % 50_000}`, tiers).allowed) refused++;
      if (i % 1_000 === 0) clock.advance(1);
    }
    expect(refused).toBe(50_000); // 4 requests per key, limit 3
    expect(store.size).toBe(50_000);
    // No timer per hit (nor any other): nothing pins a request or an entry.
    expect(vi.getTimerCount()).toBe(0);

    clock.advance(60_000);
    // Traffic from 100 other clients goes on; the incremental sweep removes the expired buckets as it does.
    for (let i = 0; i < 2_000; i++) {
      store.consumeNow(`ip:192.0.2.${i % 100}`, tiers);
      clock.advance(1);
    }
    expect(store.size).toBe(100);
  });

  it('caps the number of buckets even under a flood of fresh keys', () => {
    const clock = manualClock();
    const store = new MemoryRateLimitStore({ clock: clock.now, maxEntries: 1_000 });
    for (let i = 0; i < 10_000; i++) store.consumeNow(`ip:key-${i}`, [tier(5, 60_000)]);
    expect(store.size).toBe(1_000);
  });

  it('compacts a long-lived bucket instead of growing it', () => {
    const clock = manualClock();
    const store = new MemoryRateLimitStore({ clock: clock.now });
    for (let i = 0; i < 100_000; i++) {
      store.consumeNow('ip:a', [tier(50, 100)]);
      clock.advance(1);
    }
    const bucket = (store as unknown as { buckets: Map<string, { times: number[] }> }).buckets.get('ip:a\ndefault');
    expect(bucket!.times.length).toBeLessThanOrEqual(2 * 50 + 17);
  });
});
