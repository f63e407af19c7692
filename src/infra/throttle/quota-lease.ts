import { performance } from 'node:perf_hooks';
import { type ConsumeResult, RateLimitStore, type TierLimit, type TierState } from './rate-limit.store.js';
import type { LeaseDecision, RedisRateLimitStore } from './redis-rate-limit.store.js';

/** What leasing needs of the shared log: the Redis store (or, in the property test, a model of its script). */
export type SharedWindowLog = Pick<RedisRateLimitStore, 'ready' | 'state' | 'peek' | 'lease'>;

export interface QuotaLeaseOptions {
  /** Most slots one lease holds. */
  maxSlots?: number;
  /** Longest a lease lasts (ms); it is also at most a twentieth of the request's shortest window. */
  maxLeaseMs?: number;
  /** How often the unused slots of ended leases are handed back (ms); 0 = no timer, call `sweep()`. */
  sweepMs?: number;
  /** A monotonic clock in ms (the property test drives its own). */
  clock?: () => number;
  /** Most clients holding a lease at once (memory bound); past it a new client gets exact decisions. */
  maxLeases?: number;
}

/** One client's lease on one set of tiers, on this instance. */
interface Lease {
  client: string;
  tiers: readonly TierLimit[];
  /** Slots granted and not spent yet. */
  slots: number;
  /** Local time after which no slot may be spent: the call's send time + the lease's length. */
  validUntil: number;
  /** The Redis time the slots were recorded at (to hand back the unused ones). */
  recordedAt: number;
  /** The tiers as the grant left them, and when (local time): what the headers are worked out from. */
  granted: TierState[];
  grantedAt: number;
  /**
   * The demand that sizes the next lease: requests seen in the current period (one lease length or
   * more, from `periodStart`) and in the one before it, per lease length.
   */
  demand: number;
  periodStart: number;
  previousDemand: number;
  /** The call under way for this lease; requests arriving meanwhile wait for its slots. */
  pending: Promise<LeaseDecision> | undefined;
  lastSeen: number;
}

/**
 * A client's lease state stays in memory this many lease lengths after its last request (its
 * demand needs the last one only). At most `maxLeases` clients have one: under a flood of distinct
 * clients the others get the plain per-request decision.
 */
const IDLE_LEASES = 4;

/**
 * Rate-limit decisions without a Redis round trip per request, still exact across instances: an
 * instance takes a lease of slots for a busy client from the shared sliding-window log in one
 * script call and spends it locally. The script records the slots as if admitted at the end of the
 * lease's validity, so none leaves the window before a request it admits would have, and the slots
 * a lease did not spend are handed back when it ends. So no window ever admits more than the limit
 * across all instances; it may admit a little fewer while leases are out.
 *
 * The size follows the client's demand on this instance (twice the requests expected during the
 * next lease, at most `maxSlots`) and the script caps it at an eighth of the room left, so near the
 * limit it is one slot: the exact per-request decision of the plain store. A client with no
 * second request within a lease's length always gets that plain decision. Tiers whose smallest
 * limit is under 16 or whose shortest window is under 100 ms are never leased.
 *
 * `RateLimit`'s `r` under a lease: the room the shared log had when the lease was granted (other
 * instances' admissions since are not seen) plus this lease's unspent slots; `t` counts down from
 * the grant.
 */
export class QuotaLeaseRateLimitStore extends RateLimitStore {
  private readonly leases = new Map<string, Lease>();
  private readonly leaseMsByTiers = new WeakMap<readonly TierLimit[], number>();
  private readonly idByTiers = new WeakMap<readonly TierLimit[], string>();
  private readonly maxSlots: number;
  private readonly maxLeaseMs: number;
  private readonly maxLeases: number;
  private readonly clock: () => number;
  private readonly sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: SharedWindowLog,
    options: QuotaLeaseOptions = {},
  ) {
    super();
    this.maxSlots = options.maxSlots ?? 256;
    this.maxLeaseMs = options.maxLeaseMs ?? 250;
    this.maxLeases = options.maxLeases ?? 100_000;
    this.clock = options.clock ?? (() => performance.now());
    const sweepMs = options.sweepMs ?? 100;
    if (sweepMs > 0) {
      this.sweeper = setInterval(() => void this.sweep(), sweepMs);
      this.sweeper.unref();
    }
  }

  get ready(): boolean {
    return this.log.ready;
  }

  get state(): string {
    return this.log.state;
  }

  peek(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult> {
    return this.log.peek(client, tiers);
  }

  /**
   * Admits the request from a slot this instance holds, synchronously, or returns `undefined` (no
   * slot: `consume` then asks Redis). The failover store tries this first, so a leased admission
   * costs no timeout, breaker or promise: the slot is already recorded in Redis, outage or not.
   */
  takeLeased(client: string, tiers: readonly TierLimit[]): ConsumeResult | undefined {
    const leaseMs = this.leaseMsOf(tiers);
    if (leaseMs === 0) return undefined;
    const lease = this.leases.get(`${client}\n${this.idOf(tiers)}`);
    if (lease === undefined || lease.slots === 0) return undefined;
    const now = this.clock();
    if (now >= lease.validUntil) return undefined;
    countDemand(lease, now, leaseMs);
    lease.lastSeen = now;
    lease.slots -= 1;
    return admittedFrom(lease, now);
  }

  async consume(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult> {
    const leaseMs = this.leaseMsOf(tiers);
    if (leaseMs === 0) return this.exact(client, tiers);
    const id = `${client}\n${this.idOf(tiers)}`;
    let lease = this.leases.get(id);
    if (lease === undefined) {
      if (this.leases.size >= this.maxLeases) return this.exact(client, tiers);
      lease = newLease(client, tiers, this.clock());
      this.leases.set(id, lease);
    }
    countDemand(lease, this.clock(), leaseMs);
    for (;;) {
      const now = this.clock();
      lease.lastSeen = now;
      if (lease.slots > 0 && now < lease.validUntil) {
        lease.slots -= 1;
        return admittedFrom(lease, now);
      }
      if (lease.pending === undefined) return this.renew(lease, leaseMs);
      const decision = await lease.pending.catch(() => undefined);
      // Refused (or failed): this request gets its own exact decision, as without leasing.
      if (decision === undefined || !decision.allowed) return this.exact(client, tiers);
    }
  }

  /**
   * One script call for `lease`: hands back what the ended lease left unspent, asks for as many
   * slots as the demand since the last call suggests, and decides this request.
   */
  private async renew(lease: Lease, leaseMs: number): Promise<ConsumeResult> {
    const sentAt = this.clock();
    const expected = Math.max(lease.demand, lease.previousDemand);
    const wanted = expected >= 2 ? Math.min(this.maxSlots, Math.ceil(2 * expected)) : 1;
    const handBack = lease.slots;
    lease.slots = 0;
    const pending = this.log.lease(lease.client, lease.tiers, {
      wanted,
      leaseMs,
      handBack,
      handBackAt: lease.recordedAt,
    });
    lease.pending = pending;
    let decision: LeaseDecision;
    try {
      decision = await pending;
    } finally {
      lease.pending = undefined;
    }
    if (!decision.allowed || decision.granted <= 1) return decision;
    lease.slots = decision.granted - 1;
    lease.validUntil = sentAt + leaseMs;
    lease.recordedAt = decision.recordedAt;
    lease.granted = decision.tiers;
    lease.grantedAt = this.clock();
    return admittedFrom(lease, lease.grantedAt);
  }

  private exact(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult> {
    return this.log.lease(client, tiers, { wanted: 1, leaseMs: 0, handBack: 0, handBackAt: 0 });
  }

  /** Hands back the unspent slots of every ended lease and forgets clients idle for a while. */
  sweep(): Promise<void> {
    const now = this.clock();
    const handBacks: Promise<unknown>[] = [];
    for (const [id, lease] of this.leases) {
      if (lease.pending !== undefined) continue;
      if (lease.slots > 0 && now >= lease.validUntil) handBacks.push(this.handBack(lease));
      else if (lease.slots === 0 && now - lease.lastSeen > IDLE_LEASES * this.leaseMsOf(lease.tiers)) {
        this.leases.delete(id);
      }
    }
    return Promise.all(handBacks).then(() => undefined);
  }

  /** Hands back every lease's unspent slots (at shutdown, so this instance keeps no quota from others). */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.all([...this.leases.values()].filter((lease) => lease.slots > 0).map((l) => this.handBack(l)));
    this.leases.clear();
  }

  private handBack(lease: Lease): Promise<unknown> {
    const handBack = lease.slots;
    lease.slots = 0;
    const call = { wanted: 0, leaseMs: 0, handBack, handBackAt: lease.recordedAt };
    // Should it fail, the slots stay recorded until they leave the window: fewer admissions, never more.
    return this.log.lease(lease.client, lease.tiers, call).catch(() => undefined);
  }

  /** A twentieth of the shortest window, at most `maxLeaseMs`; 0 (no leasing) for tiers too small to share out. */
  private leaseMsOf(tiers: readonly TierLimit[]): number {
    let leaseMs = this.leaseMsByTiers.get(tiers);
    if (leaseMs === undefined) {
      const shortest = Math.min(...tiers.map((tier) => tier.windowMs));
      const smallest = Math.min(...tiers.map((tier) => tier.limit));
      leaseMs = smallest < 16 || shortest < 100 ? 0 : Math.min(this.maxLeaseMs, Math.floor(shortest / 20));
      this.leaseMsByTiers.set(tiers, leaseMs);
    }
    return leaseMs;
  }

  private idOf(tiers: readonly TierLimit[]): string {
    let id = this.idByTiers.get(tiers);
    if (id === undefined) {
      id = tiers.map((tier) => `${tier.bucket}:${tier.limit}:${tier.windowMs}`).join(',');
      this.idByTiers.set(tiers, id);
    }
    return id;
  }
}

function newLease(client: string, tiers: readonly TierLimit[], now: number): Lease {
  return {
    client,
    tiers,
    slots: 0,
    validUntil: 0,
    recordedAt: 0,
    granted: [],
    grantedAt: now,
    demand: 0,
    periodStart: now,
    previousDemand: 0,
    pending: undefined,
    lastSeen: now,
  };
}

/** Counts a request in the demand, starting a new period once the current one is a lease length old. */
function countDemand(lease: Lease, now: number, leaseMs: number): void {
  const elapsed = now - lease.periodStart;
  if (elapsed >= leaseMs) {
    lease.previousDemand = (lease.demand * leaseMs) / elapsed;
    lease.demand = 0;
    lease.periodStart = now;
  }
  lease.demand += 1;
}

/** An admission spent from `lease`: the grant's tiers with this lease's unspent slots still to send. */
function admittedFrom(lease: Lease, now: number): ConsumeResult {
  const elapsed = now - lease.grantedAt;
  return {
    allowed: true,
    retryAfterMs: 0,
    tiers: lease.granted.map((tier) => ({
      name: tier.name,
      limit: tier.limit,
      windowMs: tier.windowMs,
      remaining: Math.min(tier.limit, tier.remaining + lease.slots),
      resetMs: Math.max(0, tier.resetMs - elapsed),
    })),
  };
}
