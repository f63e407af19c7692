import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authConfig } from '../../config/index.js';
import { MetricsService } from '../metrics/index.js';
import {
  type ConsumeResult,
  ipKeyOf,
  RateLimiterUnavailableError,
  rateLimitPolicy,
  rateLimitState,
  RateLimitStore,
  retryAfterSeconds,
  type TierLimit,
} from '../throttle/index.js';

/** The tier's name in `RateLimit-Policy`, in 429 details and in `throttled_requests_total{tier}`. */
export const AUTH_FAILURE_TIER = 'auth-failure';

/** What the caller answers instead of checking (or after failing) a credential. */
export interface AuthRefusal {
  status: 429 | 503;
  detail: string;
  headers: Record<string, string>;
}

/**
 * Limits credential guessing: at most `AUTH_FAILURE_LIMIT` wrong API keys or admin tokens per
 * client IP in any `AUTH_FAILURE_TTL_SECONDS`, counted in the rate limiter's store (Redis when
 * configured, so across instances; its fail mode when Redis is down).
 *
 * Once an IP's failures fill the window, it gets `429` before its credential is even compared,
 * so a guess that happens to be right is refused too and guessing learns nothing. The count is
 * per IP, never per key: failures from another address cannot lock a key's real user out.
 *
 * ```ts
 * const refusal = (await limiter.refusalBeforeCheck(request, reply)) ?? (valid ? undefined : await limiter.recordFailure(request, reply));
 * ```
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly tiers: readonly TierLimit[];
  private readonly policy: string;

  constructor(
    @Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>,
    @Inject(RateLimitStore) private readonly store: RateLimitStore,
    private readonly metrics: MetricsService,
  ) {
    this.tiers = [{ name: AUTH_FAILURE_TIER, bucket: AUTH_FAILURE_TIER, ...auth.failureLimit }];
    this.policy = rateLimitPolicy(this.tiers);
  }

  /** Before comparing a presented credential: a refusal while this IP has no failures left, else undefined. */
  async refusalBeforeCheck(request: FastifyRequest, reply: FastifyReply): Promise<AuthRefusal | undefined> {
    return this.answer(reply, false, () => this.store.peek(ipKeyOf(request), this.tiers));
  }

  /** After a wrong credential: counts it; a refusal if the IP had no failures left (a race with another request). */
  async recordFailure(request: FastifyRequest, reply: FastifyReply): Promise<AuthRefusal | undefined> {
    return this.answer(reply, true, () => this.store.consume(ipKeyOf(request), this.tiers));
  }

  /** `counted`: a failure was recorded, so the 401/403 shows what is left (an admitted check shows nothing). */
  private async answer(
    reply: FastifyReply,
    counted: boolean,
    decide: () => Promise<ConsumeResult>,
  ): Promise<AuthRefusal | undefined> {
    let result: ConsumeResult;
    try {
      result = await decide();
    } catch (error) {
      // THROTTLE_FAIL_MODE=closed and Redis down: no credential is checked unlimited.
      if (!(error instanceof RateLimiterUnavailableError)) throw error;
      return {
        status: 503,
        detail: 'Rate limiting is unavailable right now; try again shortly',
        headers: { 'retry-after': '1' },
      };
    }
    if (result.allowed && !counted) return undefined;
    void reply.header('RateLimit-Policy', this.policy);
    void reply.header('RateLimit', rateLimitState(result.tiers));
    if (result.allowed) return undefined;
    const wait = retryAfterSeconds(result.retryAfterMs);
    const { limit, windowMs } = this.tiers[0]!;
    this.metrics.throttledRequests.inc({ tier: AUTH_FAILURE_TIER });
    return {
      status: 429,
      detail: `Too many failed authentication attempts from this address: the "${AUTH_FAILURE_TIER}" limit of ${limit} per ${Math.ceil(windowMs / 1000)} s is used up; retry in ${wait} s`,
      headers: { 'retry-after': String(wait) },
    };
  }
}
