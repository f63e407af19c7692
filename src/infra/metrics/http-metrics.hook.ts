import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { MetricsService } from './metrics.service.js';

/**
 * Observes `http_request_duration_seconds{method,route,status}` for every response from a Fastify
 * `onResponse` hook: one histogram observation, after the reply is sent, off the response path.
 * `route` is the template (`/v1/products/:id`), never the raw URL, so ids cannot blow up the
 * number of series; requests that match no route share `route="unmatched"`.
 */
@Injectable()
export class HttpMetricsHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    // Absent in an application context without HTTP (the worker process).
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    if (!adapter) return;
    const fastify = adapter.getInstance<FastifyInstance>();
    const histogram = this.metrics.httpRequestDuration;
    fastify.addHook('onResponse', (request, reply, done) => {
      histogram.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }
}
