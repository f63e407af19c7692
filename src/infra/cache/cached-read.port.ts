import { Inject, Injectable, Optional, type Type } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MetricsService } from '../metrics/index.js';
import { CacheAsideInterceptor, cacheStatusOf, JSON_CONTENT_TYPE, notModified } from './cache-aside.interceptor.js';
import type { CacheRecord } from './cache-record.js';
import { CacheMetrics } from './cache.metrics.js';
import { type CacheBehaviour, cacheNameOf } from './cache.options.js';
import { CacheStore } from './cache.store.js';
import { CACHE_BEHAVIOUR } from './cache.tokens.js';
import type { Lookup } from './cache.types.js';
import { type CachedRoute, CachedRoutes } from './cached-route.js';
import { EntryPolicy, lookupEntry } from './entry-policy.js';

/**
 * What the cached-read fast path (infra/fast-path) needs from the cache to answer a hit before
 * the Nest pipeline: a handler's `@Cached` route, one judged store read per request, the answer
 * to a fresh hit (the same headers and body the interceptor sends), and the hand-over of a read
 * it did not answer, which the interceptor then reuses instead of reading again.
 */
@Injectable()
export class CachedReadPort {
  /** The interceptor `@Cached` puts on a route: the one the fast path stands in for. */
  readonly interceptor: Type = CacheAsideInterceptor;
  private readonly entries: EntryPolicy;
  private readonly metrics: CacheMetrics;
  private readonly cacheName: string;

  constructor(
    @Optional() @Inject(CacheStore) private readonly store: CacheStore | null,
    @Inject(CACHE_BEHAVIOUR) behaviour: CacheBehaviour,
    private readonly routes: CachedRoutes,
    @Optional() metrics?: MetricsService,
  ) {
    this.entries = new EntryPolicy(behaviour);
    this.metrics = new CacheMetrics(metrics);
    this.cacheName = cacheNameOf(behaviour);
  }

  /** False with the cache off: nothing can be answered from it. */
  get enabled(): boolean {
    return this.store !== null;
  }

  /** The handler's `@Cached` route, or null (not a cached handler). */
  routeOf(handler: object, controller: { name: string }): CachedRoute | null {
    return this.routes.of(handler, controller);
  }

  /** The request's cache key; undefined when its parameters are refused (the full path answers them). */
  keyOf(route: CachedRoute, request: FastifyRequest): Promise<string | undefined> {
    return this.routes.keyOf(route, request);
  }

  /** One judged read of the entry under `key` (never throws: a failing store is a lookup with `error`). */
  read(route: CachedRoute, key: string): Promise<Lookup> {
    return lookupEntry(this.store!, this.entries, key, route.policy);
  }

  /** The entry to answer here: a fresh 200 not picked for refresh-ahead (that needs the handler), else undefined. */
  servable(lookup: Lookup): CacheRecord | undefined {
    const record = lookup.fresh;
    return record !== undefined && record.status === 200 && !lookup.refreshDue ? record : undefined;
  }

  /** Answers the hit as the interceptor would (`Cache-Status`, `ETag`, 304 on `If-None-Match`) and counts it. */
  send(route: CachedRoute, record: CacheRecord, request: FastifyRequest, reply: FastifyReply): void {
    this.metrics.count(route.policy.name, 'hit');
    void reply.header('cache-status', cacheStatusOf(this.cacheName, { record, outcome: 'hit', stored: false }));
    if (notModified(route, record, request, reply)) void reply.code(304).send();
    else void reply.header('content-type', JSON_CONTENT_TYPE).send(record.body);
  }

  /** Passes a read it did not answer on to the interceptor, which resolves the request with it. */
  handOver(request: FastifyRequest, lookup: Lookup): void {
    this.routes.handOver(request, lookup);
  }
}
