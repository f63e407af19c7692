import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { countersConfig } from '../../config/index.js';
import { CountersService } from '../../infra/counters/index.js';
import { clientKeyOf } from '../../infra/throttle/index.js';
import { PRODUCT_READ_ROUTE, PRODUCT_VIEWS } from './product-views.js';

/**
 * Counts every GET /v1/products/{id} answered 200 or 304, from a Fastify `onResponse` hook: it
 * runs once the answer is sent, whichever path sent it (the cached-read fast path's `onRequest`
 * hook, the cache interceptor, the handler), so no path needs to know about counting and the
 * read itself is never delayed. Counting is a few map operations in memory (`CountersService`).
 *
 * The viewer is the client as the rate limiter sees it: `key:<API key name>` when a valid key
 * was sent, else `ip:<address>` (API.md, Popularity).
 */
@Injectable()
export class ProductViewsHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly counters: CountersService,
    @Inject(countersConfig.KEY) private readonly config: ConfigType<typeof countersConfig>,
  ) {}

  onModuleInit(): void {
    // Absent in an application context without HTTP (the worker process).
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    if (!adapter || !this.config.countViews) return;
    adapter.getInstance<FastifyInstance>().addHook('onResponse', (request, reply, done) => {
      const status = reply.statusCode;
      if (
        (status === 200 || status === 304) &&
        request.method === 'GET' &&
        request.routeOptions.url === PRODUCT_READ_ROUTE
      ) {
        // A 200 or 304 means the UUID pipe accepted the id; it is lower-cased as the cache key is.
        const { id } = request.params as { id: string };
        this.counters.record(PRODUCT_VIEWS, id.toLowerCase(), clientKeyOf(request));
      }
      done();
    });
  }
}
