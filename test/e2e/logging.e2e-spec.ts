import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Body, Controller, Get, Logger, Module, Post } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger as Pino } from 'pino';
import { AppModule } from '../../src/app.module.js';
import { AppLogger } from '../../src/infra/logging/app-logger.js';
import { ROOT_LOGGER } from '../../src/infra/logging/logging.module.js';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { sparePort } from '../support/redis-server.js';

const API_SECRET = 'api-secret-0123456789abcdef';
const COOKIE_SECRET = 'cookie-secret-fedcba9876543210';
const SMTP_PASSWORD = 'smtp-p@ss/word-7531';
const WEBHOOK_KEY = 'c2VjcmV0LXNpZ25pbmcta2V5LTEyMzQ1Njc4OQ==';

/** Handlers that log through Nest's Logger, with no request at hand, after awaiting timers and promises. */
// A test-only route: out of the OpenAPI document, so the response checker leaves it alone.
@ApiExcludeController()
@Controller({ path: 'logging-probe', version: '1' })
class LoggingProbeController {
  private readonly logger = new Logger('LoggingProbe');

  @Get()
  async read(): Promise<{ ok: boolean }> {
    await sleep(5);
    this.logger.log('inside a GET handler');
    return { ok: true };
  }

  @Post()
  async write(@Body() body: { note: string }): Promise<{ ok: boolean }> {
    await Promise.all([sleep(5), Promise.resolve()]);
    this.logger.warn({ msg: 'inside a POST handler', note: body.note });
    return { ok: true };
  }
}

@Module({ imports: [AppModule], controllers: [LoggingProbeController] })
class LoggingProbeModule {}

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  context?: string;
  req?: { method: string; url: string; userAgent?: string; headers?: Record<string, string> };
  res?: { statusCode: number };
  [key: string]: unknown;
}

describe('logging', () => {
  let database: TestDatabase;
  let app: TestApp;
  let dir: string;
  let logFile: string;

  const lines = (): LogLine[] =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as LogLine);

  /** Log writes are asynchronous: wait until a matching line has reached the file. */
  async function logged(match: (line: LogLine) => boolean): Promise<LogLine[]> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const found = lines().filter(match);
      if (found.length > 0) return found;
      await sleep(50);
    }
    throw new Error(`no matching log line in:\n${readFileSync(logFile, 'utf8')}`);
  }

  /** Sends `head`, then `body` once the server has read the head; resolves to the status of the answer (`Connection: close`). */
  async function rawRequest(head: string, body: string): Promise<number> {
    const { port } = new URL(app.baseUrl);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(head);
    await sleep(100);
    socket.write(body);
    await closed;
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logging-'));
    logFile = join(dir, 'app.log');
    database = await createTestDatabase('logging');
    app = await bootTestApp(
      {
        DATABASE_URL: database.url,
        LOG_LEVEL: 'info',
        LOG_FILE: logFile,
        API_KEYS: `tester:${API_SECRET}`,
        WEBHOOK_URLS: 'http://127.0.0.1:9/hooks',
        WEBHOOK_SECRET: `whsec_${WEBHOOK_KEY}`,
        SMTP_URL: `smtp://mailer:${encodeURIComponent(SMTP_PASSWORD)}@127.0.0.1:2525`,
        // Nothing listens there: readiness logs a warning during the request.
        REDIS_URL: `redis://127.0.0.1:${await sparePort()}`,
        REDIS_KEY_PREFIX: `logging-${process.pid}`,
        QUEUE_DRIVER: 'memory',
        CACHE_STORE: 'memory',
        THROTTLE_LIMIT: '1000',
      },
      LoggingProbeModule,
    );
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes one JSON line per request with method, url and status (a Fastify onResponse hook)', async () => {
    const response = await app.request('/v1/products?limit=5', { headers: { 'x-request-id': 'req-lines-1' } });
    expect(response.status).toBe(200);
    const [line] = await logged((l) => l.reqId === 'req-lines-1' && l.res !== undefined);
    expect(line).toMatchObject({
      level: 30,
      msg: 'GET /v1/products?limit=5 200',
      req: { method: 'GET' },
      res: { statusCode: 200 },
    });
    expect(typeof line!.responseTime).toBe('number');
  });

  it('takes the request id from X-Request-Id, echoes it, and puts it on every line of the request', async () => {
    const response = await app.request('/health/ready', { headers: { 'x-request-id': 'req-propagate-42' } });
    expect(response.status).toBe(503);
    expect(response.headers.get('x-request-id')).toBe('req-propagate-42');
    await logged((l) => l.reqId === 'req-propagate-42' && l.res !== undefined);
    const mine = lines().filter((l) => l.reqId === 'req-propagate-42');
    // The application's own line (Nest Logger → pino) and the request line share the id.
    expect(mine.map((l) => l.msg)).toEqual(expect.arrayContaining(['readiness probe failed', 'GET /health/ready 503']));
    expect(mine.find((l) => l.msg === 'readiness probe failed')).toMatchObject({
      context: 'Health',
      component: 'redis',
    });
  });

  it("puts the request id on the app's own lines written inside a handler (AsyncLocalStorage)", async () => {
    const read = await app.request('/v1/logging-probe', { headers: { 'x-request-id': 'ctx-get-1' } });
    expect(read.status).toBe(200);
    const write = await app.request('/v1/logging-probe', {
      method: 'POST',
      headers: { 'x-request-id': 'ctx-post-1', 'x-api-key': API_SECRET },
      json: { note: 'with a body' },
    });
    expect(write.status).toBe(201);
    // A body that arrives after the headers is read in the socket's callbacks, outside the context
    // entered at onRequest: the handler must still log with the request's id.
    const body = JSON.stringify({ note: 'sent later' });
    const status = await rawRequest(
      `POST /v1/logging-probe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nX-API-Key: ${API_SECRET}\r\nX-Request-Id: ctx-post-2\r\nConnection: close\r\n\r\n`,
      body,
    );
    expect(status).toBe(201);
    const [inRead] = await logged((l) => l.msg === 'inside a GET handler');
    expect(inRead).toMatchObject({ context: 'LoggingProbe', reqId: 'ctx-get-1' });
    const [inWrite] = await logged((l) => l.note === 'with a body');
    expect(inWrite).toMatchObject({ msg: 'inside a POST handler', context: 'LoggingProbe', reqId: 'ctx-post-1' });
    const [inLateWrite] = await logged((l) => l.note === 'sent later');
    expect(inLateWrite).toMatchObject({ msg: 'inside a POST handler', reqId: 'ctx-post-2' });
    // Concurrent requests keep their own ids.
    await Promise.all(
      ['ctx-par-1', 'ctx-par-2', 'ctx-par-3'].map((id) =>
        app.request('/v1/logging-probe', { headers: { 'x-request-id': id } }),
      ),
    );
    await logged((l) => l.reqId === 'ctx-par-3' && l.msg === 'inside a GET handler');
    const parallel = lines().filter((l) => l.msg === 'inside a GET handler' && l.reqId?.startsWith('ctx-par-'));
    expect(parallel.map((l) => l.reqId).sort()).toEqual(['ctx-par-1', 'ctx-par-2', 'ctx-par-3']);
  });

  it('generates a request id when none (or an unusable one) is sent', async () => {
    const response = await app.request('/v1/users', { headers: { 'x-request-id': 'bad id with spaces' } });
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await logged((l) => l.reqId === id && l.msg === 'GET /v1/users 200');
  });

  it('does not log successful probes and scrapes, only failing ones', async () => {
    await app.request('/health/live', { headers: { 'x-request-id': 'probe-ok-1' } });
    await app.request('/metrics', { headers: { 'x-request-id': 'probe-ok-2' } });
    await app.request('/v1/products', { headers: { 'x-request-id': 'after-probes' } });
    await logged((l) => l.reqId === 'after-probes');
    expect(lines().filter((l) => l.reqId === 'probe-ok-1' || l.reqId === 'probe-ok-2')).toEqual([]);
    // /health/ready fails here (its Redis is down): that one is logged, at warn.
    await app.request('/health/ready', { headers: { 'x-request-id': 'probe-failing' } });
    const [failing] = await logged((l) => l.reqId === 'probe-failing' && l.res !== undefined);
    expect(failing).toMatchObject({ level: 40, res: { statusCode: 503 } });
  });

  it('writes a line for a request the client abandons before the answer', async () => {
    const { port } = new URL(app.baseUrl);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    // Headers and part of the promised body: the server waits for the rest, then the client leaves.
    socket.write(
      'POST /v1/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nX-Request-Id: abort-probe-1\r\n\r\n{"sku":',
    );
    await sleep(100);
    socket.destroy();
    const [line] = await logged((l) => l.reqId === 'abort-probe-1' && l.aborted === true);
    expect(line).toMatchObject({
      level: 30,
      msg: 'POST /v1/products aborted',
      req: { method: 'POST', url: '/v1/products' },
    });
    // The cut-short body's socket error is not blamed on the database (nor on anything else).
    await sleep(100);
    expect(lines().filter((l) => l.reqId === 'abort-probe-1' && l.level >= 40)).toEqual([]);
  });

  it('never writes credentials from headers', async () => {
    await app.request('/v1/products', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${API_SECRET}`,
        'x-request-id': 'req-redact-1',
        cookie: `session=${COOKIE_SECRET}`,
      },
      json: { sku: 'LOG-1', name: 'Logged', priceCents: 100, currency: 'EUR' },
    });
    await app.request('/v1/products', {
      method: 'POST',
      headers: { 'x-api-key': API_SECRET, 'x-request-id': 'req-redact-2' },
      json: { sku: 'LOG-2', name: 'Logged', priceCents: 100, currency: 'EUR' },
    });
    const [first] = await logged((l) => l.reqId === 'req-redact-1' && l.res !== undefined);
    const [second] = await logged((l) => l.reqId === 'req-redact-2' && l.res !== undefined);
    expect(first!.res!.statusCode).toBe(201);
    expect(second!.res!.statusCode).toBe(201);
    // The request line carries no headers besides the user agent.
    expect(first!.req).toEqual({
      method: 'POST',
      url: '/v1/products',
      userAgent: expect.any(String),
      remoteAddress: expect.any(String),
    });
    // Code that logs a request's headers itself still gets them redacted.
    const logger = app.app.get<symbol, Pino>(ROOT_LOGGER);
    logger.warn(
      {
        req: {
          headers: {
            authorization: `Bearer ${API_SECRET}`,
            'x-api-key': API_SECRET,
            cookie: `session=${COOKIE_SECRET}`,
          },
        },
      },
      'headers probe',
    );
    const [probe] = await logged((l) => l.msg === 'headers probe');
    expect(probe!.req!.headers).toEqual({
      authorization: '[Redacted]',
      'x-api-key': '[Redacted]',
      cookie: '[Redacted]',
    });
    const text = readFileSync(logFile, 'utf8');
    expect(text).not.toContain(API_SECRET);
    expect(text).not.toContain(COOKIE_SECRET);
  });

  it('removes the webhook secret and the SMTP password wherever they turn up in a line', async () => {
    const logger = app.app.get(AppLogger);
    logger.warn(
      `mail transport smtp://mailer:${encodeURIComponent(SMTP_PASSWORD)}@127.0.0.1:2525 failed`,
      'RedactionProbe',
    );
    logger.warn({ msg: 'signing', secret: `whsec_${WEBHOOK_KEY}`, password: SMTP_PASSWORD }, 'RedactionProbe');
    await logged((l) => l.context === 'RedactionProbe' && l.msg === 'signing');
    // Both lines were written, with the secrets replaced in place.
    await logged((l) => l.msg === 'mail transport smtp://mailer:[Redacted]@127.0.0.1:2525 failed');
    const text = readFileSync(logFile, 'utf8');
    for (const secret of [SMTP_PASSWORD, encodeURIComponent(SMTP_PASSWORD), WEBHOOK_KEY, API_SECRET]) {
      expect(text).not.toContain(secret);
    }
  });

  it('writes what Nest code logs as one line with its context, fields and error', async () => {
    const logger = app.app.get(AppLogger);
    logger.warn({ msg: 'object probe', component: 'cache', count: 3 }, 'FieldsProbe');
    logger.error('string probe', 'Error: boom\n    at somewhere (file.js:1:1)', 'FieldsProbe');
    logger.log(new Error('error probe'), 'FieldsProbe');
    logger.error('value probe', new Error('cause probe'), 'FieldsProbe');
    logger.warn('details probe', { attempt: 3 }, 'FieldsProbe');
    const mine = await logged((l) => l.context === 'FieldsProbe' && l.msg === 'error probe');
    expect(mine[0]).toMatchObject({ level: 30, err: { message: 'error probe' } });
    expect(lines().find((l) => l.msg === 'object probe')).toMatchObject({
      level: 40,
      context: 'FieldsProbe',
      component: 'cache',
      count: 3,
    });
    // Written outside any request: no request id.
    expect(lines().find((l) => l.msg === 'object probe')?.reqId).toBeUndefined();
    expect(lines().find((l) => l.msg === 'string probe')).toMatchObject({
      level: 50,
      err: { stack: expect.stringContaining('at somewhere') },
    });
    await logged((l) => l.msg === 'details probe');
    expect(lines().find((l) => l.msg === 'value probe')).toMatchObject({
      level: 50,
      context: 'FieldsProbe',
      err: { message: 'cause probe' },
    });
    expect(lines().find((l) => l.msg === 'details probe')).toMatchObject({
      level: 40,
      context: 'FieldsProbe',
      details: { attempt: 3 },
    });
  });
});
