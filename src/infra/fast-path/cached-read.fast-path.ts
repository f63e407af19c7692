import { type CanActivate, type ExecutionContext, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import {
  GUARDS_METADATA,
  HEADERS_METADATA,
  HTTP_CODE_METADATA,
  INTERCEPTORS_METADATA,
  REDIRECT_METADATA,
  RENDER_METADATA,
  SSE_METADATA,
} from '@nestjs/common/constants.js';
import { ApplicationConfig, HttpAdapterHost, Reflector } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyGuard } from '../auth/index.js';
import {
  CacheAsideInterceptor,
  type CachedRoute,
  CacheService,
  cacheStatusOf,
  JSON_CONTENT_TYPE,
  notModified,
} from '../cache/index.js';
import { isApiPath } from '../http/index.js';
import { clientKeyOf, RateLimitGuard, rateLimitPolicy, type TierLimit } from '../throttle/index.js';
import { annotateSpan, withoutSpans } from '../tracing/index.js';

/** Handler decorators whose effect (status, headers, rendering) Nest applies on every answer, hits included. */
const RESPONSE_SHAPING_METADATA = [
  HEADERS_METADATA,
  HTTP_CODE_METADATA,
  REDIRECT_METADATA,
  RENDER_METADATA,
  SSE_METADATA,
];

/** What the fast path needs to answer one route. */
interface FastRoute {
  cached: CachedRoute;
  /** The route's rate-limit tiers (empty: not limited), and their `RateLimit-Policy` field. */
  tiers: TierLimit[];
  rateLimitPolicy: string;
}

/**
 * Answers cache hits of `@Cached` GET routes from a Fastify `onRequest` hook, before Nest's
 * router, guards and interceptors: the API key is identified, the rate limit decided and the
 * entry read in parallel (two Redis commands in flight, one round trip of latency), and a fresh
 * hit is sent as it is stored, with the same headers the full path sends (`RateLimit-*`,
 * `Cache-Status`, `ETag`, 304 on `If-None-Match`).
 *
 * Anything else goes on through Nest as usual, carrying what was already done: a miss, a stale or
 * 404 entry, an entry due for refresh-ahead, a refused or undecided rate limit, a store error. The
 * cache interceptor then reuses the lookup and the throttle guard the decision, so nothing is read
 * or counted twice.
 *
 * Safe by construction: a route is answered here only once a request has gone through Nest and
 * shown that nothing would be skipped. As a global guard (the last one) this class learns, for
 * each route, whether its only guards are the API-key and rate-limit guards (global or route
 * level), its only interceptor is `CacheAsideInterceptor`, it has no `@Header`/`@HttpCode`-style
 * decorator, and its rate limits are constants. A route with a guard of its own (roles,
 * tenants…), another interceptor, a response-shaping decorator or a dynamic limit is never
 * answered here, so adding one to a route can never be bypassed by a cache hit.
 */
@Injectable()
export class CachedReadFastPath implements CanActivate, OnModuleInit {
  private readonly logger = new Logger('CachedReadFastPath');
  /** Per route (Fastify's route config object): how to answer it here, or null for "never". */
  private readonly routes = new WeakMap<object, FastRoute | null>();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly applicationConfig: ApplicationConfig,
    private readonly reflector: Reflector,
    private readonly cache: CacheService,
    private readonly cacheInterceptor: CacheAsideInterceptor,
    private readonly apiKeys: ApiKeyGuard,
    private readonly rateLimit: RateLimitGuard,
  ) {}

  onModuleInit(): void {
    // Absent in an application context without HTTP (the worker process); useless with the cache off.
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    if (!adapter || !this.cache.enabled) return;
    adapter.getInstance<FastifyInstance>().addHook('onRequest', (request, reply, done) => {
      const route = request.method === 'GET' ? this.routes.get(request.routeOptions.config) : undefined;
      if (!route) return done();
      this.answer(request, reply, route).then(
        (answered) => {
          if (!answered) done();
        },
        (error: unknown) => {
          // Never fail a request here: the full path will do the same work and answer properly.
          this.logger.warn({ msg: 'fast path failed; the request goes the full way', reqId: request.id, err: error });
          done();
        },
      );
    });
  }

  /** As a guard it never refuses: it learns, on a route's first request, whether it may answer the route. */
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    // Only GET routes are answered here (other methods have routes of their own).
    if (request.method !== 'GET') return true;
    const config = request.routeOptions.config;
    if (!this.routes.has(config)) this.routes.set(config, this.eligible(context, request));
    return true;
  }

  /** Resolves to true when it answered the request. */
  private async answer(request: FastifyRequest, reply: FastifyReply, route: FastRoute): Promise<boolean> {
    this.apiKeys.identify(request);
    const limited = route.tiers.length > 0;
    // The hottest request: its Redis commands (rate limit, cache read) get no span each (tracing
    // on); the outcomes go on the request's span as attributes instead.
    const deciding = limited ? withoutSpans(() => this.rateLimit.decide(clientKeyOf(request), route.tiers)) : undefined;
    // The guard awaits the same decision if the request goes on (and answers its failure: 503).
    if (deciding !== undefined) request.rateLimitDecision = deciding;
    const decided = deciding?.catch(() => undefined);
    // Undefined: parameters the pipes refuse; the full path answers them, without the cache.
    const key = await this.cacheInterceptor.keyOf(route.cached, request);
    if (key === undefined) return false;
    const [decision, lookup] = await Promise.all([
      decided,
      withoutSpans(() => this.cache.lookup(key, route.cached.policy)),
    ]);
    const record = lookup.fresh;
    const servable = record !== undefined && record.status === 200 && !lookup.refreshDue;
    if (!servable || (limited && decision?.allowed !== true)) {
      request.cacheLookup = { key, lookup };
      return false;
    }
    if (decision !== undefined) this.rateLimit.admit(decision, reply, route.rateLimitPolicy);
    this.cache.count(route.cached.policy.name, 'hit');
    annotateSpan({ 'cache.outcome': 'hit' });
    void reply.header('cache-status', cacheStatusOf(this.cache.cacheName, { record, outcome: 'hit', stored: false }));
    if (notModified(route.cached, record, request, reply)) void reply.code(304).send();
    else void reply.header('content-type', JSON_CONTENT_TYPE).send(record.body);
    return true;
  }

  private eligible(context: ExecutionContext, request: FastifyRequest): FastRoute | null {
    const cached = this.cacheInterceptor.routeOf(context);
    if (cached === null) return null;
    const targets = [context.getHandler(), context.getClass()];
    const routeGuards = this.reflector.getAllAndMerge<unknown[]>(GUARDS_METADATA, targets);
    const routeInterceptors = this.reflector.getAllAndMerge<unknown[]>(INTERCEPTORS_METADATA, targets);
    const known = new Set<unknown>([ApiKeyGuard, RateLimitGuard, CachedReadFastPath]);
    const onlyKnownGuards =
      routeGuards.every((guard) => known.has(guard)) &&
      this.applicationConfig.getGlobalGuards().every((guard) => known.has(guard.constructor)) &&
      this.applicationConfig.getGlobalRequestGuards().length === 0;
    const onlyCacheInterceptor =
      routeInterceptors.every((interceptor) => interceptor === CacheAsideInterceptor) &&
      this.applicationConfig.getGlobalInterceptors().length === 0 &&
      this.applicationConfig.getGlobalRequestInterceptors().length === 0;
    // `@Header('Cache-Control', 'private')`, `@HttpCode(…)` and the like shape every answer: keep them.
    const shapesResponse = RESPONSE_SHAPING_METADATA.some(
      (key) => this.reflector.get<unknown>(key, context.getHandler()) !== undefined,
    );
    if (!onlyKnownGuards || !onlyCacheInterceptor || shapesResponse) return null;
    const url = request.routeOptions.url ?? request.url;
    const tiers = isApiPath(url) ? this.rateLimit.constantReadTiersFor(context) : [];
    if (tiers === undefined) return null;
    this.logger.log(`answering cache hits of GET ${url} before the Nest pipeline`);
    return { cached, tiers, rateLimitPolicy: rateLimitPolicy(tiers) };
  }
}
