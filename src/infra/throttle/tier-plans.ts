import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { ThrottlerGetTrackerFunction, ThrottlerModuleOptions, ThrottlerOptions } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { WRITE_METHODS } from '../http/index.js';
import type { TierLimit } from './rate-limit.store.js';

// The metadata keys `@Throttle()` and `@SkipThrottle()` write (not exported by @nestjs/throttler;
// throttle.guard.spec.ts checks they still match what the decorators write).
const THROTTLER_LIMIT = 'THROTTLER:LIMIT';
const THROTTLER_TTL = 'THROTTLER:TTL';
const THROTTLER_TRACKER = 'THROTTLER:TRACKER';
const THROTTLER_SKIP = 'THROTTLER:SKIP';

export type Resolvable<T> = T | ((context: ExecutionContext) => T | Promise<T>);

/** One tier as it applies to one handler. */
export interface TierPlan {
  name: string;
  throttler: ThrottlerOptions;
  limit: Resolvable<number>;
  ttl: Resolvable<number>;
  bucket: string;
  tracker: ThrottlerGetTrackerFunction | undefined;
}

/** `skipIf` of the `write` tier: it counts writes only (so it never applies to a GET). */
export function skipUnlessWrite(context: ExecutionContext): boolean {
  return !WRITE_METHODS.has(context.switchToHttp().getRequest<FastifyRequest>().method);
}

/**
 * What `@Throttle`/`@SkipThrottle` and the module's tiers say for each handler, per tier: read
 * once per handler (the metadata never changes), not on every request. Tiers are in the order
 * `ThrottlerGuard` uses (shortest window first).
 */
export class TierPlans {
  private readonly throttlers: ThrottlerOptions[];
  private readonly commonSkipIf: ThrottlerOptions['skipIf'];
  private readonly plans = new WeakMap<object, TierPlan[]>();

  constructor(
    options: ThrottlerModuleOptions,
    private readonly reflector: Reflector,
  ) {
    const list = Array.isArray(options) ? options : options.throttlers;
    this.throttlers = [...list]
      .sort((a, b) => (typeof a.ttl === 'function' ? 1 : typeof b.ttl === 'function' ? 0 : a.ttl - b.ttl))
      .map((throttler) => ({ ...throttler, name: throttler.name ?? 'default' }));
    this.commonSkipIf = Array.isArray(options) ? undefined : options.skipIf;
  }

  of(handler: object, controller: { name: string }): TierPlan[] {
    let plans = this.plans.get(handler);
    if (plans === undefined) {
      plans = [];
      const targets = [handler as () => void, controller as () => void];
      for (const throttler of this.throttlers) {
        const name = throttler.name ?? 'default';
        const meta = <T>(key: string): T | undefined =>
          this.reflector.getAllAndOverride<T | undefined>(key + name, targets);
        if (meta<boolean>(THROTTLER_SKIP)) continue;
        const routeLimit = meta<Resolvable<number>>(THROTTLER_LIMIT);
        const routeTtl = meta<Resolvable<number>>(THROTTLER_TTL);
        // A route with limits of its own gets its own bucket; all others share the client's tier bucket.
        const ownBucket = routeLimit !== undefined || routeTtl !== undefined;
        plans.push({
          name,
          throttler: { ...throttler, skipIf: throttler.skipIf ?? this.commonSkipIf },
          limit: routeLimit ?? throttler.limit,
          ttl: routeTtl ?? throttler.ttl,
          bucket: ownBucket ? `${name}@${controller.name}.${(handler as { name: string }).name}` : name,
          tracker: meta<ThrottlerGetTrackerFunction>(THROTTLER_TRACKER) ?? throttler.getTracker,
        });
      }
      this.plans.set(handler, plans);
    }
    return plans;
  }

  /**
   * The tiers this handler limits its reads (GET) by, when they are the same for every read
   * (constant limits, no custom tracker, no `skipIf` but the `write` tier's, which skips reads),
   * else `undefined`.
   */
  constantReadTiers(handler: object, controller: { name: string }): TierLimit[] | undefined {
    const tiers: TierLimit[] = [];
    for (const plan of this.of(handler, controller)) {
      if (plan.throttler.skipIf === skipUnlessWrite) continue;
      if (plan.throttler.skipIf || plan.tracker || typeof plan.limit !== 'number' || typeof plan.ttl !== 'number')
        return undefined;
      tiers.push(tierLimit(plan, plan.limit, plan.ttl));
    }
    return tiers;
  }
}

export function tierLimit(plan: TierPlan, limit: number, windowMs: number): TierLimit {
  if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(windowMs) || windowMs < 1) {
    throw new Error(`Throttler tier "${plan.name}" needs an integer limit ≥ 1 and ttl ≥ 1 ms`);
  }
  return { name: plan.name, bucket: plan.bucket, limit, windowMs };
}
