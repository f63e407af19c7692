import { createHash } from 'node:crypto';
import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  ThrottlerGuard,
  type ThrottlerGetTrackerFunction,
  type ThrottlerModuleOptions,
  type ThrottlerOptions,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isApiPath, ProblemException, WRITE_METHODS } from '../http/index.js';
import { MetricsService } from '../metrics/index.js';
import { annotateSpan } from '../tracing/index.js';
import { clientKeyOf } from './client-key.js';
import { RateLimiterUnavailableError } from './failover-rate-limit.store.js';
import { rateLimitPolicy, rateLimitState, retryAfterSeconds } from './rate-limit.headers.js';
import { type ConsumeResult, RateLimitStore, type TierLimit } from './rate-limit.store.js';

// The metadata keys `@Throttle()` and `@SkipThrottle()` write (not exported by @nestjs/throttler;
// throttle.guard.spec.ts checks they still match what the decorators write).
const THROTTLER_LIMIT = 'THROTTLER:LIMIT';
const THROTTLER_TTL = 'THROTTLER:TTL';
const THROTTLER_TRACKER = 'THROTTLER:TRACKER';
const THROTTLER_SKIP = 'THROTTLER:SKIP';

type Resolvable<T> = T | ((context: ExecutionContext) => T | Promise<T>);

declare module 'fastify' {
  interface FastifyRequest {
    /** A rate-limit decision already under way for this request (the cached-read fast path's). */
    rateLimitDecision?: Promise<ConsumeResult>;
  }
}

/** `skipIf` of the `write` tier: it counts writes only (the fast path knows it skips every GET). */
export function skipUnlessWrite(context: ExecutionContext): boolean {
  return !WRITE_METHODS.has(context.switchToHttp().getRequest<FastifyRequest>().method);
}

/**
 * `@nestjs/throttler`'s guard, reworked so that one request costs one store call for all tiers:
 * every applicable tier (`burst`, `default`, `write`, or a route's own `@Throttle` limits) is
 * decided atomically in one `RateLimitStore.consume`, and a refused request counts against none.
 * It sends the IETF `RateLimit-Policy`/`RateLimit` fields instead of `X-RateLimit-*`, and refuses
 * with 429 problem+json and `Retry-After`. `@SkipThrottle()` and per-tier `skipIf` work as usual.
 *
 * ```ts
 * @Throttle({ default: { limit: 5, ttl: minutes(1) } }) // this route gets its own, stricter bucket
 * @Post('password-reset')
 * resetPassword() {}
 * ```
 */
/** One tier as it applies to one handler. */
interface TierPlan {
  name: string;
  throttler: ThrottlerOptions;
  limit: Resolvable<number>;
  ttl: Resolvable<number>;
  bucket: string;
  tracker: ThrottlerGetTrackerFunction | undefined;
}

@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly plans = new WeakMap<object, TierPlan[]>();
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @Inject(RateLimitStore) private readonly store: RateLimitStore,
    reflector: Reflector,
    private readonly metrics: MetricsService,
  ) {
    super(options, store, reflector);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    if (!isApiPath(request.routeOptions.url ?? request.url)) return true;

    // The cached-read fast path may have decided this request already (and then passed it on);
    // its failure (an unavailable limiter) is this guard's 503, not a second attempt.
    let result = request.rateLimitDecision === undefined ? undefined : await request.rateLimitDecision;
    if (result === undefined) {
      const tiers: TierLimit[] = [];
      let tracker: string | undefined;
      for (const plan of this.planOf(context)) {
        if (plan.throttler.skipIf?.(context)) continue;
        // Constants need no await: the common case stays synchronous.
        const limit = typeof plan.limit === 'number' ? plan.limit : await resolve(context, plan.limit);
        const windowMs = typeof plan.ttl === 'number' ? plan.ttl : await resolve(context, plan.ttl);
        tiers.push(tierLimit(plan, limit, windowMs));
        if (plan.tracker && tracker === undefined) tracker = `t:${sha256(await plan.tracker(request, context))}`;
      }
      if (tiers.length === 0) return true;
      result = await this.decide(tracker ?? clientKeyOf(request), tiers);
    }
    if (this.admit(result, reply)) return true;

    const tier = result.tiers.find((t) => t.name === result.refusedBy) ?? result.tiers[0];
    const wait = retryAfterSeconds(result.retryAfterMs);
    this.metrics.throttledRequests.inc({ tier: result.refusedBy ?? 'unknown' });
    throw new ProblemException(
      429,
      tier
        ? `Too many requests: the "${tier.name}" limit of ${tier.limit} per ${Math.ceil(tier.windowMs / 1000)} s is used up; retry in ${wait} s`
        : `Too many requests; retry in ${wait} s`,
      { headers: { 'retry-after': String(wait) } },
    );
  }

  /**
   * The tiers this handler limits its reads (GET) by, when they are the same for every read
   * (constant limits, no custom tracker, no `skipIf` but the `write` tier's, which skips reads),
   * else `undefined`. The cached-read fast path decides only such routes itself.
   */
  constantReadTiersFor(context: ExecutionContext): TierLimit[] | undefined {
    const tiers: TierLimit[] = [];
    for (const plan of this.planOf(context)) {
      if (plan.throttler.skipIf === skipUnlessWrite) continue;
      if (plan.throttler.skipIf || plan.tracker || typeof plan.limit !== 'number' || typeof plan.ttl !== 'number')
        return undefined;
      tiers.push(tierLimit(plan, plan.limit, plan.ttl));
    }
    return tiers;
  }

  /**
   * Sends the RateLimit fields of a decision; true when the request may go on. `policy` depends on
   * the tiers only: a caller with a fixed set of tiers passes it worked out once.
   */
  admit(result: ConsumeResult, reply: FastifyReply, policy = rateLimitPolicy(result.tiers)): boolean {
    // On the request's span (tracing on): the decision, without a span of its own.
    annotateSpan({ 'ratelimit.allowed': result.allowed });
    void reply.header('RateLimit-Policy', policy);
    void reply.header('RateLimit', rateLimitState(result.tiers));
    return result.allowed;
  }

  /**
   * What `@Throttle`/`@SkipThrottle` say for this handler, per tier: read once per handler (the
   * metadata never changes), not on every request.
   */
  private planOf(context: ExecutionContext): TierPlan[] {
    const handler = context.getHandler();
    let plans = this.plans.get(handler);
    if (plans === undefined) {
      plans = [];
      for (const throttler of this.throttlers) {
        const name = throttler.name ?? 'default';
        const meta = <T>(key: string): T | undefined =>
          this.reflector.getAllAndOverride<T | undefined>(key + name, [handler, context.getClass()]);
        if (meta<boolean>(THROTTLER_SKIP)) continue;
        const routeLimit = meta<Resolvable<number>>(THROTTLER_LIMIT);
        const routeTtl = meta<Resolvable<number>>(THROTTLER_TTL);
        // A route with limits of its own gets its own bucket; all others share the client's tier bucket.
        const ownBucket = routeLimit !== undefined || routeTtl !== undefined;
        plans.push({
          name,
          throttler: { ...throttler, skipIf: throttler.skipIf ?? this.commonOptions.skipIf },
          limit: routeLimit ?? throttler.limit,
          ttl: routeTtl ?? throttler.ttl,
          bucket: ownBucket ? `${name}@${context.getClass().name}.${handler.name}` : name,
          tracker: meta<ThrottlerGetTrackerFunction>(THROTTLER_TRACKER) ?? throttler.getTracker,
        });
      }
      this.plans.set(handler, plans);
    }
    return plans;
  }

  /** One store call for all tiers; an unavailable limiter (fail mode `closed`) is a 503. */
  async decide(client: string, tiers: readonly TierLimit[]): Promise<ConsumeResult> {
    try {
      return await this.store.consume(client, tiers);
    } catch (error) {
      if (!(error instanceof RateLimiterUnavailableError)) throw error;
      throw new ProblemException(503, 'Rate limiting is unavailable right now; try again shortly', {
        headers: { 'retry-after': '1' },
        cause: error,
      });
    }
  }
}

function tierLimit(plan: TierPlan, limit: number, windowMs: number): TierLimit {
  if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(windowMs) || windowMs < 1) {
    throw new Error(`Throttler tier "${plan.name}" needs an integer limit ≥ 1 and ttl ≥ 1 ms`);
  }
  return { name: plan.name, bucket: plan.bucket, limit, windowMs };
}

async function resolve(context: ExecutionContext, value: ThrottlerOptions['limit']): Promise<number> {
  const resolved = typeof value === 'function' ? await value(context) : value;
  return typeof resolved === 'string' ? Number(resolved) : resolved;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
