import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance } from 'fastify';

/** The id of the request being handled (Fastify's `request.id`): what every log line written for it carries. */
const requestId = new AsyncLocalStorage<string>();

/** The id of the request being handled here, if any (undefined in start-up code, the worker, timers). */
export function currentRequestId(): string | undefined {
  return requestId.getStore();
}

/**
 * Runs the rest of each request inside an AsyncLocalStorage context holding its id, so every log
 * line written while handling it carries `reqId` (the root logger's mixin reads it), the lines of
 * `new Logger('…')` calls deep in a service included. Install it on the adapter's instance before
 * `NestFactory.create` (which adds the Nest middleware runner): Nest middleware, the hooks after
 * it, the cached-read fast path, the pipeline and the exception filter then all run inside it.
 *
 * On Node 24 AsyncLocalStorage is built on AsyncContextFrame (a context is one pointer carried
 * along with each continuation) and costs little; on Node 20 and 22 it runs on async_hooks promise
 * hooks, paid on every promise of every request (measured in docs/benchmarks.md).
 *
 * ```ts
 * installRequestContext(adapter.getInstance());
 * ```
 */
export function installRequestContext(fastify: FastifyInstance): void {
  // One run per request. A body read later in the socket's callbacks does not lose it: Fastify runs
  // its body parser's callback in the request's context (an AsyncResource, content-type-parser.js).
  fastify.addHook('onRequest', (request, _reply, done) => requestId.run(request.id, done));
}
