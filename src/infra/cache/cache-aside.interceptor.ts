import {
  type CallHandler,
  type ExecutionContext,
  HttpException,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { lastValueFrom, type Observable, of } from 'rxjs';
import { etagOf, ifNoneMatchHits, ProblemException } from '../http/index.js';
import { annotateSpan } from '../tracing/index.js';
import type { CacheRecord } from './cache-record.js';
import { CacheService } from './cache.service.js';
import type { Loaded, Resolved } from './cache.types.js';
import { type CachedRoute, CachedRoutes } from './cached-route.js';
import { NotModifiedException } from './not-modified.filter.js';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The interceptor behind `@Cached`. It answers from the stored, already serialised body, so a hit
 * costs one store read and a string send; the handler runs only to fill a miss.
 */
@Injectable()
export class CacheAsideInterceptor implements NestInterceptor {
  constructor(
    private readonly cache: CacheService,
    private readonly routes: CachedRoutes,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const route = this.routes.of(context.getHandler(), context.getClass());
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    if (route === null || (request.method !== 'GET' && request.method !== 'HEAD')) return next.handle();
    // The fast path's read of this request, when it passed the request on: not read again.
    const ahead = this.routes.lookupOf(request);
    const key = ahead?.key ?? (await this.routes.keyOf(route, request));
    // Parameters the pipes refuse: the handler's pipes answer (400), and no cache is consulted.
    if (key === undefined) return next.handle();
    const reply = http.getResponse<FastifyReply>();
    let resolved: Resolved;
    try {
      resolved = await this.cache.resolve(key, route.policy, () => this.load(next), ahead);
    } catch (error) {
      // The handler failed (400, 503…): nothing was stored, and the answer says it went past the cache.
      void reply.header('cache-status', `${this.cache.cacheName}; fwd=miss`);
      throw error;
    }
    return of(this.answer(resolved, request, reply, route));
  }

  private answer(resolved: Resolved, request: FastifyRequest, reply: FastifyReply, route: CachedRoute): string {
    const { record } = resolved;
    // hit, miss, collapsed, stale or bypass, on the request's span (tracing on).
    annotateSpan({ 'cache.outcome': resolved.outcome });
    void reply.header('cache-status', cacheStatusOf(this.cache.cacheName, resolved));
    if (record.status === 404) throw new ProblemException(404, record.body);
    if (notModified(route, record, request, reply)) throw new NotModifiedException();
    void reply.header('content-type', JSON_CONTENT_TYPE);
    return record.body;
  }

  /** Runs the handler; its body is serialised once, here, and that string is both stored and sent. */
  private async load(next: CallHandler): Promise<Loaded> {
    try {
      const value: unknown = await lastValueFrom(next.handle(), { defaultValue: undefined });
      const version = (value as { version?: unknown } | null | undefined)?.version;
      return { status: 200, body: JSON.stringify(value ?? null), version: typeof version === 'number' ? version : 0 };
    } catch (error) {
      if (error instanceof HttpException && error.getStatus() === 404) {
        return { status: 404, body: error instanceof ProblemException ? error.detail : error.message, version: 0 };
      }
      throw error;
    }
  }
}

/**
 * Sends the entry's `ETag` (routes whose entries carry an entity version) and tells whether the
 * request's `If-None-Match` matches it, i.e. the answer is a bodyless 304.
 */
export function notModified(
  route: CachedRoute,
  record: CacheRecord,
  request: FastifyRequest,
  reply: FastifyReply,
): boolean {
  if (!route.etag || record.version <= 0) return false;
  void reply.header('etag', etagOf(record.version));
  const ifNoneMatch = request.headers['if-none-match'];
  return ifNoneMatch !== undefined && ifNoneMatchHits(ifNoneMatch, record.version);
}

/**
 * RFC 9211: `app; hit; ttl=42`, `app; fwd=miss; stored`, `app; fwd=miss; collapsed`, `app; fwd=bypass`,
 * and stale-if-error `app; hit; ttl=-12; detail=stale-if-error` (a negative ttl: seconds past expiry).
 */
export function cacheStatusOf(name: string, { record, outcome, stored }: Resolved): string {
  switch (outcome) {
    case 'hit':
      return `${name}; hit; ttl=${Math.max(0, Math.floor((record.expiresAt - Date.now()) / 1000))}`;
    case 'stale':
      return `${name}; hit; ttl=${Math.min(0, Math.floor((record.expiresAt - Date.now()) / 1000))}; detail=stale-if-error`;
    case 'collapsed':
      return `${name}; fwd=miss; collapsed`;
    case 'bypass':
      return `${name}; fwd=bypass`;
    default:
      return stored ? `${name}; fwd=miss; stored` : `${name}; fwd=miss`;
  }
}
