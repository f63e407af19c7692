import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type INestApplicationContext, type LogLevel, VersioningType } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { httpConfig } from './config/index.js';
import { ShutdownState } from './infra/http/shutdown-state.js';

export interface CreateAppOptions {
  logger?: LogLevel[] | false;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

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
    // Refuse new connections once closing instead of answering them 503 (see the shutdown path in DESIGN.md).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Take the caller's X-Request-Id when it is sane, else make one; it is echoed and logged.
    genReqId: (request: IncomingMessage) => {
      const header = request.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, adapter, {
    abortOnError: false,
    logger: options.logger,
  });
  app.enableVersioning({ type: VersioningType.URI });

  const fastify = app.getHttpAdapter().getInstance();
  // JSON only: a text/plain body is a client mistake (415), not a string to validate.
  fastify.removeContentTypeParser(['text/plain']);
  const shutdown = app.get(ShutdownState);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    if (shutdown.draining) void reply.header('connection', 'close');
    done();
  });
  return app;
}

function trustHops(count: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < count;
}

export type { INestApplicationContext };
