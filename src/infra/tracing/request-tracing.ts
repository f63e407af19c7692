import type { FastifyInstance } from 'fastify';
import { nameRequestSpan, tracingEnabled } from './trace-context.js';

/**
 * Names each request's HTTP server span after its route template (`GET /v1/products/:id`, never
 * the raw URL with its ids). Installs nothing when tracing is off, so it costs nothing then.
 *
 * ```ts
 * installRequestTracing(adapter.getInstance());
 * ```
 */
export function installRequestTracing(fastify: FastifyInstance): void {
  if (!tracingEnabled()) return;
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (request.routeOptions.url !== undefined) nameRequestSpan(request.routeOptions.url);
    done();
  });
}
