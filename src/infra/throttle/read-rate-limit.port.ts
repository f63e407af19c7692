import { Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerOptions, type ThrottlerModuleOptions } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isApiPath, ProblemException } from '../http/index.js';
import { annotateSpan } from '../tracing/index.js';
import { clientKeyOf } from './client-key.js';
import { RateLimiterUnavailableError } from './failover-rate-limit.store.js';
import { rateLimitPolicy, rateLimitState } from './rate-limit.headers.js';
import { type ConsumeResult, RateLimitStore, type TierLimit } from './rate-limit.store.js';
import { TierPlans } from './tier-plans.js';

/** A route's read limits, the same for every GET: its tiers (none: not limited) and their `RateLimit-Policy`. */
export interface ReadRateLimit {
  readonly tiers: readonly TierLimit[];
  readonly policy: string;
}

/**
 * What the cached-read fast path (infra/fast-path) needs from the throttle to decide a GET
 * before the Nest pipeline: a route's constant read limits, the decision (one store call, as the
 * guard makes it), the `RateLimit` fields of an allowed request, and the hand-over of a decision
 * for a request it passes on, which the guard then awaits instead of counting the request again.
 */
@Injectable()
export class ReadRateLimitPort {
  private readonly plans: TierPlans;
  private readonly handedOver = new WeakMap<FastifyRequest, Promise<ConsumeResult>>();

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @Inject(RateLimitStore) private readonly store: RateLimitStore,
    reflector: Reflector,
  ) {
    this.plans = new TierPlans(options, reflector);
  }

  /**
   * The handler's read limits when they are constant (only `/v1` paths are limited), else
   * undefined: a limit that depends on the request is decided by the guard alone.
   */
  limitOf(handler: object, controller: { name: string }, path: string): ReadRateLimit | undefined {
    const tiers = isApiPath(path) ? this.plans.constantReadTiers(handler, controller) : [];
    return tiers === undefined ? undefined : { tiers, policy: rateLimitPolicy(tiers) };
  }

  decide(request: FastifyRequest, limit: ReadRateLimit): Promise<ConsumeResult> {
    return consumeTiers(this.store, clientKeyOf(request), limit.tiers);
  }

  /** Sends the `RateLimit` fields of the decision; true when the request may be answered. */
  admit(decision: ConsumeResult, reply: FastifyReply, limit: ReadRateLimit): boolean {
    return sendRateLimitFields(decision, reply, limit.policy);
  }

  /** Passes a decision under way on to the guard, for a request the fast path does not answer. */
  handOver(request: FastifyRequest, decision: Promise<ConsumeResult>): void {
    this.handedOver.set(request, decision);
  }

  /** The decision the fast path made for this request, if it passed the request on. */
  decisionOf(request: FastifyRequest): Promise<ConsumeResult> | undefined {
    return this.handedOver.get(request);
  }
}

/** One store call for all tiers; an unavailable limiter (fail mode `closed`) is a 503. */
export async function consumeTiers(
  store: RateLimitStore,
  client: string,
  tiers: readonly TierLimit[],
): Promise<ConsumeResult> {
  try {
    return await store.consume(client, tiers);
  } catch (error) {
    if (!(error instanceof RateLimiterUnavailableError)) throw error;
    throw new ProblemException(503, 'Rate limiting is unavailable right now; try again shortly', {
      headers: { 'retry-after': '1' },
      cause: error,
    });
  }
}

/** The decision's span attribute, built once per outcome instead of per request. */
const ALLOWED = { 'ratelimit.allowed': true } as const;
const REFUSED = { 'ratelimit.allowed': false } as const;

/**
 * Sends the RateLimit fields of a decision; true when the request may go on. `policy` depends on
 * the tiers only: a caller with a fixed set of tiers passes it worked out once.
 */
export function sendRateLimitFields(
  result: ConsumeResult,
  reply: FastifyReply,
  policy = rateLimitPolicy(result.tiers),
): boolean {
  // On the request's span (tracing on): the decision, without a span of its own.
  annotateSpan(result.allowed ? ALLOWED : REFUSED);
  void reply.header('RateLimit-Policy', policy);
  void reply.header('RateLimit', rateLimitState(result.tiers));
  return result.allowed;
}
