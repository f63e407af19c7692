import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Level, Logger } from 'pino';
import { currentTraceIds } from '../tracing/index.js';
import { requestLineLogger } from './logging.options.js';

/** Successful requests to these paths are not logged: probes and scrapes arrive every few seconds. */
const QUIET_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

function levelOf(request: FastifyRequest, status: number): Level | undefined {
  if (status < 400 && QUIET_PATHS.has(pathOf(request.url))) return undefined;
  // 503 is a dependency outage or a drain, already explained by the line that caused it.
  if (status === 503) return 'warn';
  return status >= 500 ? 'error' : 'info';
}

/**
 * One line per finished request, `GET /v1/products 200`, with `reqId`, method, URL, user agent,
 * client address, the status and `responseTime` in ms. No other headers: they are the costliest
 * part of the line to build and redact, and where credentials live.
 *
 * A Fastify hook rather than Nest middleware on purpose: the request is at hand, so no per-request
 * child logger is needed. The id is set here explicitly; the other lines written while handling a
 * request get it from the request context (request-context.ts).
 *
 * ```ts
 * installRequestLogging(app.getHttpAdapter().getInstance(), app.get(ROOT_LOGGER));
 * ```
 */
export function installRequestLogging(fastify: FastifyInstance, root: Logger): void {
  const logger = requestLineLogger(root);
  const line = (request: FastifyRequest, reply?: FastifyReply) => ({
    reqId: request.id,
    // The request line's logger has no mixin (logging.options.ts): the trace ids are set here.
    ...currentTraceIds(),
    req: {
      method: request.method,
      url: request.url,
      userAgent: request.headers['user-agent'],
      remoteAddress: request.ip,
    },
    ...(reply === undefined
      ? { aborted: true }
      : { res: { statusCode: reply.statusCode }, responseTime: Math.round(reply.elapsedTime * 1000) / 1000 }),
  });
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const level = levelOf(request, reply.statusCode);
    if (level !== undefined && logger.isLevelEnabled(level)) {
      logger[level](line(request, reply), `${request.method} ${request.url} ${reply.statusCode}`);
    }
    done();
  });
  // The client went away before the answer (its timeout, a cancelled fetch): no onResponse follows.
  fastify.addHook('onRequestAbort', (request: FastifyRequest, done) => {
    if (logger.isLevelEnabled('info')) logger.info(line(request), `${request.method} ${request.url} aborted`);
    done();
  });
}
