import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type LogLevel, type Type, VersioningType } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { authConfig, httpConfig } from './config/index.js';
import { corsExceptAdmin, installAdminGuard } from './infra/admin/index.js';
import { AuthFailureLimiter } from './infra/auth/index.js';
import {
  answerClientError,
  answerFrameworkError,
  installCompression,
  installHttpCaching,
  installJsonBodyParser,
  installQueryParameterRule,
  RouteMethods,
  SECURITY_HEADERS,
  serverTimeoutOptions,
  setupOpenApi,
  ShutdownState,
} from './infra/http/index.js';
import { AppLogger, installRequestContext, installRequestLogging, ROOT_LOGGER } from './infra/logging/index.js';
import { installRequestTracing } from './infra/tracing/index.js';

export interface CreateAppOptions {
  logger?: LogLevel[] | false;
  /** The root module; tests pass one that imports `AppModule` and adds a probe controller. */
  module?: Type<unknown>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What a browser script on an allowed origin may do (the default omits PATCH and DELETE), and read. */
const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const EXPOSED_HEADERS = [
  'etag',
  'location',
  'cache-status',
  'ratelimit',
  'ratelimit-policy',
  'retry-after',
  'x-request-id',
];

/**
 * Builds the fully configured application (adapter, versioning, hooks) without listening:
 * `main.ts` and the e2e tests share it, so tests run exactly what production runs.
 */
export async function createApp(options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const http = httpConfig();
  const adapter = new FastifyAdapter({
    bodyLimit: http.bodyLimitBytes,
    // A hop count trusts that many proxies nearest to us; a list trusts those addresses/CIDRs.
    trustProxy: typeof http.trustProxy === 'number' ? trustHops(http.trustProxy) : (http.trustProxy ?? false),
    // Refuse new connections once closing instead of answering them 503 (README, "Shutdown").
    return503OnClosing: false,
    // Connections end gracefully on shutdown (graceful-close.ts); none is cut while it may carry a request.
    forceCloseConnections: false,
    ...serverTimeoutOptions(http.timeouts),
    // Requests refused before routing (bad URL, long path segment, unparsable HTTP, a request timeout)
    // answer problem+json too.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // Take the caller's X-Request-Id when it is sane, else make one; it is echoed and logged.
    genReqId: (request: IncomingMessage) => {
      const header = request.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    },
  });
  // Before NestFactory.create registers the middleware runner: everything after this hook (Nest
  // middleware, the other hooks, the cached-read fast path, the handlers) logs with the request id.
  installRequestContext(adapter.getInstance());
  // Tracing on: the request's server span is named after its route template (nothing when off).
  installRequestTracing(adapter.getInstance());
  const app = await NestFactory.create<NestFastifyApplication>(options.module ?? AppModule, adapter, {
    abortOnError: false,
    // Fastify's own JSON parser only (it rejects __proto__ keys); Nest would add a form parser too.
    bodyParser: false,
    logger: options.logger,
    // Start-up lines wait for the pino logger below instead of going to Nest's console logger.
    bufferLogs: true,
  });
  app.useLogger(app.get(AppLogger));
  app.enableVersioning({ type: VersioningType.URI });
  const fastify = app.getHttpAdapter().getInstance();
  // Before any plugin is registered (CORS, compression, the docs), so the 405 map sees every route,
  // the CORS catch-all OPTIONS route included.
  // Routes are registered when the app initialises; remember their methods for 405 answers.
  const routeMethods = app.get(RouteMethods);
  fastify.addHook('onRoute', (route) => routeMethods.register(route.method, route.url));
  const shutdown = app.get(ShutdownState);
  fastify.addHook('onRequest', (request, reply, done) => {
    // On Fastify's reply (cheaper than the raw response's setHeader, measured ~4 µs per request):
    // an answer a Nest middleware writes on the raw response itself would go without them.
    void reply.headers(SECURITY_HEADERS);
    void reply.header('x-request-id', request.id);
    if (shutdown.draining) void reply.header('connection', 'close');
    done();
  });
  // A CORS preflight is answered by the adapter's own onRequest hook, which runs before the one above.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (!reply.hasHeader('x-request-id')) void reply.headers(SECURITY_HEADERS).header('x-request-id', request.id);
    // While the listener closes, an answer waits until it has (graceful-close.ts): its client would
    // reconnect at once, into the listen queue that the close resets.
    const held = shutdown.answersHeld;
    if (held) void held.then(() => done(null, payload));
    else done(null, payload);
  });
  if (http.corsOrigins.length > 0) {
    // strictPreflight off: an OPTIONS without Origin or Access-Control-Request-Method is no browser's
    // preflight, but it is valid HTTP, so it gets the same empty 204 rather than a text/plain 400.
    // No CORS under /admin (not for browsers on other origins; see docs/security.md).
    app.enableCors({
      delegator: corsExceptAdmin({
        origin: http.corsOrigins,
        methods: CORS_METHODS,
        exposedHeaders: EXPOSED_HEADERS,
        maxAge: 600,
        strictPreflight: false,
      }),
    });
  }
  // Before the first route is added (the OpenAPI UI's): compression attaches itself to routes as they come.
  await installCompression(app, http.compressionThresholdBytes);
  installHttpCaching(fastify);
  setupOpenApi(app);

  // JSON only: a text/plain body is a client mistake (415), not a string to validate.
  fastify.removeContentTypeParser(['text/plain']);
  installJsonBodyParser(fastify, http.bodyBounds);
  installRequestLogging(fastify, app.get(ROOT_LOGGER));
  // Before init, so the hook also covers the routes bull-board's plugin adds under /admin.
  installAdminGuard(
    fastify,
    app.get<ConfigType<typeof authConfig>>(authConfig.KEY).adminToken,
    app.get(AuthFailureLimiter),
  );
  // Before init too, so it runs ahead of the cached-read fast path's hook (added at init).
  installQueryParameterRule(app, fastify);
  return app;
}

function trustHops(count: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < count;
}
