import { createHash } from 'node:crypto';
import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerOptions,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isApiPath, ProblemException } from '../http/index.js';
import { MetricsService } from '../metrics/index.js';
import { clientKeyOf } from './client-key.js';
import { retryAfterSeconds } from './rate-limit.headers.js';
import { RateLimitStore, type TierLimit } from './rate-limit.store.js';
import { consumeTiers, ReadRateLimitPort, sendRateLimitFields } from './read-rate-limit.port.js';
import { tierLimit, TierPlans } from './tier-plans.js';

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
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly plans: TierPlans;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @Inject(RateLimitStore) private readonly store: RateLimitStore,
    reflector: Reflector,
    private readonly metrics: MetricsService,
    private readonly reads: ReadRateLimitPort,
  ) {
    super(options, store, reflector);
    this.plans = new TierPlans(options, reflector);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    if (!isApiPath(request.routeOptions.url ?? request.url)) return true;

    // The cached-read fast path may have decided this request already (and then passed it on);
    // its failure (an unavailable limiter) is this guard's 503, not a second attempt.
    const handedOver = this.reads.decisionOf(request);
    let result = handedOver === undefined ? undefined : await handedOver;
    if (result === undefined) {
      const tiers: TierLimit[] = [];
      let tracker: string | undefined;
      for (const plan of this.plans.of(context.getHandler(), context.getClass())) {
        if (plan.throttler.skipIf?.(context)) continue;
        // Constants need no await: the common case stays synchronous.
        const limit = typeof plan.limit === 'number' ? plan.limit : await resolve(context, plan.limit);
        const windowMs = typeof plan.ttl === 'number' ? plan.ttl : await resolve(context, plan.ttl);
        tiers.push(tierLimit(plan, limit, windowMs));
        if (plan.tracker && tracker === undefined) tracker = `t:${sha256(await plan.tracker(request, context))}`;
      }
      if (tiers.length === 0) return true;
      result = await consumeTiers(this.store, tracker ?? clientKeyOf(request), tiers);
    }
    if (sendRateLimitFields(result, reply)) return true;

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
}

async function resolve(context: ExecutionContext, value: ThrottlerOptions['limit']): Promise<number> {
  const resolved = typeof value === 'function' ? await value(context) : value;
  return typeof resolved === 'string' ? Number(resolved) : resolved;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
