import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * Requests refused before any route runs, by Fastify's router or by Node's HTTP parser, sent over a
 * raw socket (fetch would refuse to send most of them): each is problem+json with X-Request-Id and
 * the security headers, and each leaves one log line without a stack trace.
 */
let db: TestDatabase;
let api: TestApp;
let dir: string;
let logFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'router-errors-'));
  logFile = join(dir, 'app.log');
  db = await createTestDatabase('router_errors');
  api = await bootTestApp({
    DATABASE_URL: db.url,
    REDIS_URL: undefined,
    API_KEYS: undefined,
    LOG_LEVEL: 'info',
    LOG_FILE: logFile,
  });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `request` as it is and reads the answer until the server closes or 5 s pass. */
function sendRaw(request: string): Promise<RawResponse> {
  const { hostname, port } = new URL(api.baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => socket.end(request));
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
      if (!status) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      resolve({ status, headers, body: rest.join('\r\n\r\n') });
    });
  });
}

function expectProblem(response: RawResponse, status: number): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  expect(response.headers['content-security-policy']).toContain("default-src 'self'");
  const body = JSON.parse(response.body) as { status: number; type: string; detail: string };
  expect(body).toMatchObject({ status, type: 'about:blank' });
  expect(body.detail).not.toMatch(/FST_|HPE_|at .*\.js/);
}

describe('errors raised before routing', () => {
  it('answers a bad percent-encoding in the path with a 400 problem', async () => {
    expectProblem(await sendRaw('GET /v1/products/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 400);
  });

  it('answers a path segment over the router limit with a 414 problem', async () => {
    expectProblem(
      await sendRaw(`GET /v1/products/${'a'.repeat(200)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      414,
    );
  });

  it('answers a request line longer than the header limit with a 414 problem', async () => {
    expectProblem(await sendRaw(`GET /v1/products?cursor=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), 414);
  });

  it('answers a header section over the limit with a 431 problem', async () => {
    expectProblem(
      await sendRaw(`GET /health/live HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`),
      431,
    );
  });

  it('answers bytes that are not HTTP with a 400 problem', async () => {
    expectProblem(await sendRaw('GET /health/live HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n'), 400);
  });

  it('logs each as one line without a stack trace, and no 5xx', async () => {
    // 4 KB of malformed request: it must not cost the log a stack trace.
    await sendRaw(
      `POST /v1/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000\r\nConnection: close\r\n\r\n${'['.repeat(4000)}`,
    );
    await sleep(300);
    const lines = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as { level: number; msg: string; status?: number; res?: { statusCode: number } });
    expect(lines.filter((line) => line.msg === 'request rejected by the router').map((line) => line.status)).toEqual([
      400, 414,
    ]);
    expect(lines.filter((line) => line.msg === 'malformed request rejected').map((line) => line.status)).toEqual([
      414, 431, 400,
    ]);
    expect(lines.some((line) => line.msg.startsWith('POST /v1/products 400'))).toBe(true);
    expect(lines.filter((line) => line.level >= 50 || (line.res?.statusCode ?? 0) >= 500)).toEqual([]);
    expect(readFileSync(logFile, 'utf8')).not.toMatch(/"stack"|\n\s+at /);
  });
});
