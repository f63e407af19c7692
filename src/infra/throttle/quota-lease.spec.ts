import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuotaLeaseRateLimitStore, type SharedWindowLog } from './quota-lease.js';
import type { ConsumeResult, TierLimit, TierState } from './rate-limit.store.js';
import type { LeaseDecision, LeaseRequest } from './redis-rate-limit.store.js';

/** Simulated time, shared by the instances and the model of Redis. */
class SimClock {
  now = 0;
  read = (): number => this.now;
}

/** mulberry32: a small seeded generator, so a failing run can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * sliding-window.script.ts step by step in memory, the calls reaching it after a random delay (so a
 * lease's slots may be granted late in its validity, or after it): the shared Redis of the instances.
 */
class ModelLog implements SharedWindowLog {
  readonly ready = true;
  readonly state = 'ready';
  calls = 0;
  /** Grants of more than one slot. */
  leases = 0;
  private readonly lists = new Map<string, number[]>();
  private queue: Array<{ at: number; run: () => void }> = [];

  constructor(
    private readonly clock: SimClock,
    private readonly delay: () => number,
  ) {}

  peek(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult> {
    return this.lease(client, tiers, { wanted: 0, leaseMs: 0, handBack: 0, handBackAt: 0 });
  }

  lease(client: string, tiers: readonly TierLimit[], request: LeaseRequest): Promise<LeaseDecision> {
    this.calls += 1;
    return new Promise((resolve) => {
      this.queue.push({ at: this.clock.now + this.delay(), run: () => resolve(this.script(client, tiers, request)) });
    });
  }

  /** Runs, in time order, the calls that have reached Redis by `until`, each at its own time. */
  async deliver(until: number): Promise<void> {
    // What the last requests started (local decisions included) settles at the time they were made.
    await new Promise(setImmediate);
    for (;;) {
      const due = this.queue.filter((call) => call.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.queue = this.queue.filter((call) => call !== due);
      this.clock.now = Math.max(this.clock.now, due.at);
      due.run();
      await new Promise(setImmediate);
    }
    this.clock.now = until;
  }

  private script(client: string, tiers: readonly TierLimit[], request: LeaseRequest): LeaseDecision {
    const now = this.clock.now;
    const lists = tiers.map((tier) => {
      const key = `${client}:${tier.bucket}`;
      if (!this.lists.has(key)) this.lists.set(key, []);
      return this.lists.get(key)!;
    });
    lists.forEach((list) => {
      for (let i = 0; i < request.handBack; i++) {
        const at = list.lastIndexOf(request.handBackAt);
        if (at >= 0) list.splice(at, 1);
      }
    });
    let retry = 0;
    let room = Infinity;
    let stamp = now;
    const oldest = tiers.map((tier, i) => {
      const list = lists[i]!;
      while (list.length > 0 && list[0]! <= now - tier.windowMs) list.shift();
      if (list.length >= tier.limit) retry = Math.max(retry, list[list.length - tier.limit]! + tier.windowMs - now);
      room = Math.min(room, tier.limit - list.length);
      if (list.length > 0) stamp = Math.max(stamp, list[list.length - 1]!);
      return list[0] ?? now;
    });
    const allowed = retry <= 0;
    let granted = 0;
    if (allowed && request.wanted > 0) {
      granted = Math.max(1, Math.min(request.wanted, Math.floor(room / 8)));
      if (granted > 1) {
        stamp = Math.max(stamp, now + request.leaseMs);
        this.leases += 1;
      }
    }
    const states = tiers.map((tier, i): TierState => {
      const list = lists[i]!;
      if (list.length === 0 && granted > 0) oldest[i] = stamp;
      for (let s = 0; s < granted; s++) list.push(stamp);
      return {
        name: tier.name,
        limit: tier.limit,
        windowMs: tier.windowMs,
        remaining: Math.max(0, tier.limit - list.length),
        resetMs: list.length > 0 ? oldest[i]! + tier.windowMs - now : 0,
      };
    });
    return { allowed, retryAfterMs: allowed ? 0 : retry, tiers: states, granted, recordedAt: stamp };
  }
}

const tiers: TierLimit[] = [
  { name: 'burst', bucket: 'burst', limit: 200, windowMs: 1_000 },
  { name: 'default', bucket: 'default', limit: 2_000, windowMs: 10_000 },
];

/** True when no span of `windowMs` holds more than `limit` of the (sorted) admission times. */
function withinLimit(times: number[], tier: TierLimit): boolean {
  for (let i = 0; i + tier.limit < times.length; i++) {
    if (times[i + tier.limit]! - times[i]! < tier.windowMs) return false;
  }
  return true;
}

describe('QuotaLeaseRateLimitStore', () => {
  it('never admits more than the limit in any window, over several instances sharing one log', async () => {
    let leases = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer(),
          instances: fc.integer({ min: 2, max: 5 }),
          maxDelayMs: fc.integer({ min: 0, max: 120 }),
          meanGapMs: fc.integer({ min: 1, max: 30 }),
        }),
        async ({ seed, instances, maxDelayMs, meanGapMs }) => {
          const rng = random(seed);
          const clock = new SimClock();
          const log = new ModelLog(clock, () => rng() * maxDelayMs);
          const stores = Array.from(
            { length: instances },
            () => new QuotaLeaseRateLimitStore(log, { sweepMs: 0, clock: clock.read }),
          );
          const admitted = new Map<string, number[]>();
          let nextSweep = 0;
          // Bursts and lulls: an exponential gap with a mean that changes every so often.
          let gap = meanGapMs;
          while (clock.now < 30_000) {
            if (rng() < 0.01) gap = meanGapMs * (rng() < 0.5 ? 0.2 : 5);
            await log.deliver(clock.now - Math.log(1 - rng()) * gap);
            if (clock.now >= nextSweep) {
              stores.forEach((store) => void store.sweep());
              nextSweep = clock.now + 100;
            }
            const client = rng() < 0.8 ? 'busy' : 'other';
            const store = stores[Math.floor(rng() * instances)]!;
            // As the failover store calls it: a slot already held, else a call.
            const leased = store.takeLeased(client, tiers);
            void (leased ? Promise.resolve(leased) : store.consume(client, tiers)).then((result) => {
              if (!result.allowed) return;
              if (!admitted.has(client)) admitted.set(client, []);
              admitted.get(client)!.push(clock.now);
            });
          }
          await log.deliver(clock.now + 1_000);
          for (const times of admitted.values()) {
            for (const tier of tiers) expect(withinLimit(times, tier), `seed ${seed}, tier ${tier.name}`).toBe(true);
          }

          leases += log.leases;
        },
      ),
      { numRuns: 40 },
    );
    // The property was checked with leases out, not only with the plain per-request decision.
    expect(leases).toBeGreaterThan(0);
  });
});

describe('QuotaLeaseRateLimitStore under a flood of distinct clients', () => {
  /** Answers every call at once with room left, and records which clients were offered a lease. */
  class RecordingLog implements SharedWindowLog {
    readonly ready = true;
    readonly state = 'ready';
    readonly leased = new Set<string>();
    peek(client: string, limits: readonly TierLimit[]): Promise<ConsumeResult> {
      return this.lease(client, limits, { wanted: 0, leaseMs: 0, handBack: 0, handBackAt: 0 });
    }
    lease(client: string, limits: readonly TierLimit[], request: LeaseRequest): Promise<LeaseDecision> {
      if (request.leaseMs > 0) this.leased.add(client);
      const states = limits.map((tier) => ({ ...tier, remaining: tier.limit - 1, resetMs: tier.windowMs }));
      return Promise.resolve({ allowed: true, retryAfterMs: 0, tiers: states, granted: 1, recordedAt: 0 });
    }
  }

  it('keeps lease state for at most maxLeases clients, and takes new ones once idle leases are forgotten', async () => {
    let now = 0;
    const log = new RecordingLog();
    const store = new QuotaLeaseRateLimitStore(log, { sweepMs: 0, clock: () => now, maxLeases: 100 });
    for (let i = 0; i < 1_000; i++) expect((await store.consume(`flood-${i}`, tiers)).allowed).toBe(true);
    // Past the bound every new client got the plain per-request decision, and no state.
    expect(log.leased.size).toBe(100);
    expect([...log.leased].every((client) => Number(client.slice('flood-'.length)) < 100)).toBe(true);

    // Idle long enough (more than 4 lease lengths): the sweep forgets them, and a new client leases.
    now += 10_000;
    await store.sweep();
    await store.consume('after-the-flood', tiers);
    expect(log.leased.has('after-the-flood')).toBe(true);
  });
});
