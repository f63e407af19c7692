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
import { ProblemException } from '../http/problem.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { clientKeyOf } from './client-key.js';
import { RateLimiterUnavailableError } from './failover-rate-limit.store.js';
import { rateLimitHeaders, retryAfterSeconds } from './rate-limit.headers.js';
import { type ConsumeResult, RateLimitStore, type TierLimit } from './rate-limit.store.js';

// The metadata keys `@Throttle()` and `@SkipThrottle()` write (not exported by @nestjs/throttler;
// throttle.guard.spec.ts checks they still match what the decorators write).
const THROTTLER_LIMIT = 'THROTTLER:LIMIT';
const THROTTLER_TTL = 'THROTTLER:TTL';
const THROTTLER_TRACKER = 'THROTTLER:TRACKER';
const THROTTLER_SKIP = 'THROTTLER:SKIP';

type Resolvable<T> = T | ((context: ExecutionContext) => T | Promise<T>);

/** Only the versioned API is limited; operational routes (/health, /metrics, /docs, /admin) never are. */
export function isLimitedPath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/');
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
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
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
    if (!isLimitedPath(request.routeOptions.url ?? request.url)) return true;

    const tiers: TierLimit[] = [];
    let tracker: string | undefined;
    for (const throttler of this.throttlers) {
      const name = throttler.name ?? 'default';
      const meta = <T>(key: string): T | undefined =>
        this.reflector.getAllAndOverride<T | undefined>(key + name, [context.getHandler(), context.getClass()]);
      if (meta<boolean>(THROTTLER_SKIP) || (throttler.skipIf ?? this.commonOptions.skipIf)?.(context)) continue;

      const routeLimit = meta<Resolvable<number>>(THROTTLER_LIMIT);
      const routeTtl = meta<Resolvable<number>>(THROTTLER_TTL);
      const limit = await resolve(context, routeLimit ?? throttler.limit);
      const windowMs = await resolve(context, routeTtl ?? throttler.ttl);
      if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(windowMs) || windowMs < 1) {
        throw new Error(`Throttler tier "${name}" needs an integer limit ≥ 1 and ttl ≥ 1 ms`);
      }
      // A route with limits of its own gets its own bucket; all others share the client's tier bucket.
      const ownBucket = routeLimit !== undefined || routeTtl !== undefined;
      const bucket = ownBucket ? `${name}@${context.getClass().name}.${context.getHandler().name}` : name;
      tiers.push({ name, bucket, limit, windowMs });

      const customTracker = meta<ThrottlerGetTrackerFunction>(THROTTLER_TRACKER) ?? throttler.getTracker;
      if (customTracker && tracker === undefined) tracker = `t:${sha256(await customTracker(request, context))}`;
    }
    if (tiers.length === 0) return true;

    const result = await this.decide(clientKey(tracker, request), tiers);
    const { policy, state } = rateLimitHeaders(result.tiers);
    this.setResponseHeader(reply, 'RateLimit-Policy', policy);
    this.setResponseHeader(reply, 'RateLimit', state);
    if (result.allowed) return true;

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

  /** Only the IETF fields go out: the base guard's X-RateLimit-* and Retry-After-<tier> names are dropped. */
  protected override setResponseHeader(res: object, name: string, value: string | number): void {
    if (/^x-ratelimit-|^retry-after-/i.test(name)) return;
    super.setResponseHeader(res as Record<string, unknown>, name, value);
  }

  private async decide(client: string, tiers: TierLimit[]): Promise<ConsumeResult> {
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

function clientKey(tracker: string | undefined, request: FastifyRequest): string {
  return tracker ?? clientKeyOf(request);
}

async function resolve(context: ExecutionContext, value: ThrottlerOptions['limit']): Promise<number> {
  const resolved = typeof value === 'function' ? await value(context) : value;
  return typeof resolved === 'string' ? Number(resolved) : resolved;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
