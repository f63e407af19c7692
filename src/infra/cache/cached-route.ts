import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { hasQueryParameters, QueryValidator } from './cache-key.js';
import type { CachedOptions } from './cache.options.js';
import { CACHED_OPTIONS } from './cache.tokens.js';
import type { CachePolicy, Lookup } from './cache.types.js';

/** What `@Cached` says for one handler, worked out once. */
export interface CachedRoute {
  options: CachedOptions<object>;
  /** Validates the query before the key is built (routes with `query`). */
  queryValidator?: QueryValidator<object>;
  policy: CachePolicy;
  /** Untagged entries carry the entity's version, hence an ETag. */
  etag: boolean;
}

/**
 * What the interceptor and the fast-path port share: each handler's `@Cached` route (read from
 * its metadata once), the request's key, and the lookup the fast path made for a request it
 * passed on to Nest (so the interceptor does not read the store again).
 */
@Injectable()
export class CachedRoutes {
  private readonly routes = new WeakMap<object, CachedRoute | null>();
  private readonly handedOver = new WeakMap<FastifyRequest, Lookup>();

  constructor(private readonly reflector: Reflector) {}

  /** The handler's `@Cached` route, or null; worked out on its first request. */
  of(handler: object, controller: { name: string }): CachedRoute | null {
    let route = this.routes.get(handler);
    if (route === undefined) {
      const options = this.reflector.get<CachedOptions<object> | undefined>(CACHED_OPTIONS, handler as () => void);
      route = options
        ? {
            options,
            queryValidator: options.query && new QueryValidator(options.query),
            policy: {
              ttlMs: options.ttl,
              tags: options.tags,
              name: options.name ?? `${controller.name}.${(handler as { name: string }).name}`,
            },
            etag: (options.tags ?? []).length === 0,
          }
        : null;
      this.routes.set(handler, route);
    }
    return route;
  }

  /**
   * The request's cache key, from its validated parameters (see `CachedOptions.key`); undefined
   * when the request must not be answered from the cache.
   */
  async keyOf({ options, queryValidator }: CachedRoute, request: FastifyRequest): Promise<string | undefined> {
    if (queryValidator === undefined) return hasQueryParameters(request) ? undefined : options.key(request, {});
    const query = await queryValidator.validate(request);
    return query === undefined ? undefined : options.key(request, query);
  }

  handOver(request: FastifyRequest, lookup: Lookup): void {
    this.handedOver.set(request, lookup);
  }

  /** The lookup the fast path made for this request, if it passed the request on. */
  lookupOf(request: FastifyRequest): Lookup | undefined {
    return this.handedOver.get(request);
  }
}
