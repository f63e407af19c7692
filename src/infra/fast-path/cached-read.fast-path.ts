import { type CanActivate, type ExecutionContext, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost, Reflector } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyGuard, ApiKeys } from '../auth/index.js';
import { type CachedRoute, CachedReadPort } from '../cache/index.js';
import { type ConsumeResult, type ReadRateLimit, RateLimitGuard, ReadRateLimitPort } from '../throttle/index.js';
import { annotateSpan, withoutSpans } from '../tracing/index.js';
import { GUARDS_KEY, INTERCEPTORS_KEY, RESPONSE_SHAPING_KEYS } from './enhancer-keys.js';

/** The hit's span attribute, built once (the fast path must not allocate it per request). */
const HIT = { 'cache.outcome': 'hit' } as const;

/** What the fast path needs to answer one route. */
interface FastRoute {
  cached: CachedRoute;
  limit: ReadRateLimit;
}

/**
 * Answers cache hits of `@Cached` GET routes from a Fastify `onRequest` hook, before Nest's
 * router, guards and interceptors: the API key is identified, the rate limit decided and the
 * entry read in parallel (two Redis commands in flight, one round trip of latency), and a fresh
 * hit is sent as it is stored, with the same headers the full path sends (`RateLimit-*`,
 * `Cache-Status`, `ETag`, 304 on `If-None-Match`). It sees the cache and the throttle only
 * through their ports (`CachedReadPort`, `ReadRateLimitPort`).
 *
 * Anything else goes on through Nest as usual, carrying what was already done: a miss, a stale or
 * 404 entry, an entry due for refresh-ahead, a refused or undecided rate limit, a store error. The
 * ports hand the read to the cache interceptor and the decision to the throttle guard, so nothing
 * is read or counted twice.
 *
 * Safe by construction: a route is answered here only once a request has gone through Nest and
 * shown that nothing would be skipped. As a global guard (in any position among them) this class
 * learns, for each route, whether its only guards are the API-key and rate-limit guards (global
 * or route level), its only interceptor is the cache's, it has no `@Header`/`@HttpCode`-style
 * decorator, and its rate limits are constants. A route with a guard of its own (roles,
 * tenants…), another interceptor, a response-shaping decorator or a dynamic limit is never
 * answered here, so adding one to a route can never be bypassed by a cache hit. Global guards and
 * interceptors are read from Nest's `ApplicationConfig`: `APP_GUARD`/`APP_INTERCEPTOR` providers,
 * request-scoped ones and those added with `app.useGlobalGuards()`/`useGlobalInterceptors()`.
 */
@Injectable()
export class CachedReadFastPath implements CanActivate, OnModuleInit {
  private readonly logger = new Logger('CachedReadFastPath');
  /** Per route (Fastify's route config object): how to answer it here, or null for "never". */
  private readonly routes = new WeakMap<object, FastRoute | null>();
  /** Whether the app's global guards and interceptors leave the fast path possible; read once. */
  private globalsKnown: boolean | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly applicationConfig: ApplicationConfig,
    private readonly reflector: Reflector,
    private readonly cache: CachedReadPort,
    private readonly apiKeys: ApiKeys,
    private readonly rateLimit: ReadRateLimitPort,
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

  /** Resolves to true when it answered the request; else the ports have handed over what was done. */
  private async answer(request: FastifyRequest, reply: FastifyReply, route: FastRoute): Promise<boolean> {
    this.apiKeys.identify(request);
    const limited = route.limit.tiers.length > 0;
    // The hottest request: its Redis commands (rate limit, cache read) get no span each (tracing
    // on); the outcomes go on the request's span as attributes instead.
    const deciding = limited ? withoutSpans(() => this.rateLimit.decide(request, route.limit)) : undefined;
    try {
      const decided = deciding?.catch(() => undefined);
      // Undefined: parameters the pipes refuse; the full path answers them, without the cache.
      const key = await this.cache.keyOf(route.cached, request);
      if (key === undefined) return this.goOn(request, deciding);
      const [decision, lookup] = await Promise.all([decided, withoutSpans(() => this.cache.read(route.cached, key))]);
      const record = this.cache.servable(lookup);
      if (record === undefined || (limited && decision?.allowed !== true)) {
        this.cache.handOver(request, lookup);
        return this.goOn(request, deciding);
      }
      if (decision !== undefined) this.rateLimit.admit(decision, reply, route.limit);
      annotateSpan(HIT);
      this.cache.send(route.cached, record, request, reply);
      return true;
    } catch (error) {
      this.goOn(request, deciding);
      throw error;
    }
  }

  /** The guard awaits the same decision if the request goes on (and answers its failure: 503). */
  private goOn(request: FastifyRequest, deciding: Promise<ConsumeResult> | undefined): false {
    if (deciding !== undefined) this.rateLimit.handOver(request, deciding);
    return false;
  }

  private eligible(context: ExecutionContext, request: FastifyRequest): FastRoute | null {
    const handler = context.getHandler();
    const controller = context.getClass();
    const cached = this.cache.routeOf(handler, controller);
    if (cached === null) return null;
    const targets = [handler, controller];
    const known = new Set<unknown>([ApiKeyGuard, RateLimitGuard, CachedReadFastPath]);
    const routeGuards = this.reflector.getAllAndMerge<unknown[]>(GUARDS_KEY, targets);
    const routeInterceptors = this.reflector.getAllAndMerge<unknown[]>(INTERCEPTORS_KEY, targets);
    const onlyKnownGuards = routeGuards.every((guard) => known.has(guard));
    const onlyCacheInterceptor = routeInterceptors.every((interceptor) => interceptor === this.cache.interceptor);
    // `@Header('Cache-Control', 'private')`, `@HttpCode(…)` and the like shape every answer: keep them.
    const shapesResponse = RESPONSE_SHAPING_KEYS.some((key) => this.reflector.get<unknown>(key, handler) !== undefined);
    if (!onlyKnownGuards || !onlyCacheInterceptor || shapesResponse || !this.globalEnhancersKnown(known)) return null;
    const url = request.routeOptions.url ?? request.url;
    const limit = this.rateLimit.limitOf(handler, controller, url);
    if (limit === undefined) return null;
    this.logger.log(`answering cache hits of GET ${url} before the Nest pipeline`);
    return { cached, limit };
  }

  /**
   * True when every global guard is a known one and there is no global interceptor. Nest's
   * `ApplicationConfig` lists them all: `APP_GUARD`/`APP_INTERCEPTOR` providers, request-scoped
   * ones (kept apart, and not among the providers `DiscoveryService` lists), and `useGlobal*()`.
   */
  private globalEnhancersKnown(known: ReadonlySet<unknown>): boolean {
    const config = this.applicationConfig;
    this.globalsKnown ??=
      config.getGlobalGuards().every((guard) => known.has(guard.constructor)) &&
      config.getGlobalRequestGuards().length === 0 &&
      config.getGlobalInterceptors().length === 0 &&
      config.getGlobalRequestInterceptors().length === 0;
    return this.globalsKnown;
  }
}
