import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Request timeouts, driven with raw sockets (a slowloris is not something an HTTP client does).
// The first suite runs with SHORTENED timeouts so it takes seconds; the last test checks that the
// shipped defaults are the values docs/operations.md ("Timeouts") and the README state.

const SHORT = { headersMs: 1000, requestMs: 2000, keepAliveMs: 1000 };
/** Node checks header and request deadlines once a second (connectionsCheckingInterval): a bound with room to spare. */
const SLACK_MS = 2500;

interface RawExchange {
  /** Everything the server sent. */
  text: string;
  /** ms from connecting until the server closed the connection. */
  closedAfterMs: number;
}

/** Opens a TCP connection, runs `script` on it, and resolves when the server closes it (or after `giveUpMs`). */
function rawExchange(url: string, script: (socket: Socket) => void, giveUpMs: number): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${giveUpMs} ms; it sent: ${JSON.stringify(text)}`));
    }, giveUpMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: performance.now() - started });
    });
    socket.on('connect', () => script(socket));
  });
}

/** The status, lower-cased headers and body of the first response in `text`. */
function parseResponse(text: string): { status: number; headers: Record<string, string>; body: string } {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

function expectTimeoutProblem(text: string): void {
  const response = parseResponse(text);
  expect(response.status, text).toBe(408);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  expect(response.headers['content-security-policy']).toBeDefined();
  expect(response.headers.connection).toBe('close');
  expect(JSON.parse(response.body)).toMatchObject({ type: 'about:blank', title: 'Request Timeout', status: 408 });
}

describe('request timeouts (shortened: headers 1 s, request 2 s, keep-alive 1 s)', () => {
  let db: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase('timeouts');
    api = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: undefined,
      API_KEYS: undefined,
      HTTP_HEADERS_TIMEOUT_MS: String(SHORT.headersMs),
      HTTP_REQUEST_TIMEOUT_MS: String(SHORT.requestMs),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(SHORT.keepAliveMs),
    });
  });

  afterAll(async () => {
    await api?.close();
    await db?.drop();
  });

  it('answers 408 problem+json and closes when the headers never finish (slowloris)', async () => {
    const exchange = await rawExchange(
      api.baseUrl,
      (socket) => socket.write('GET /v1/products HTTP/1.1\r\nHost: x\r\nX-Slow: 1'),
      30_000,
    );
    expectTimeoutProblem(exchange.text);
    expect(exchange.closedAfterMs).toBeLessThan(SHORT.headersMs + SLACK_MS);
  });

  it('answers 408 problem+json and closes when the body stops halfway, and writes nothing', async () => {
    const sku = `T-half-${Date.now()}`;
    const body = JSON.stringify({ sku, name: 'Half', priceCents: 100, currency: 'EUR' });
    const exchange = await rawExchange(
      api.baseUrl,
      (socket) =>
        socket.write(
          `POST /v1/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, body.length / 2)}`,
        ),
      30_000,
    );
    expectTimeoutProblem(exchange.text);
    expect(exchange.closedAfterMs).toBeLessThan(SHORT.requestMs + SLACK_MS);
    expect(
      (await api.request(`/v1/products?limit=100`).then((r) => r.json())) as { items: Array<{ sku: string }> },
    ).not.toMatchObject({
      items: expect.arrayContaining([expect.objectContaining({ sku })]),
    });
  });

  it('closes a connection that never sends a byte', async () => {
    const exchange = await rawExchange(api.baseUrl, () => undefined, 30_000);
    expect(exchange.closedAfterMs).toBeLessThan(SHORT.requestMs + SLACK_MS);
  });

  it('announces the keep-alive timeout and closes an idle keep-alive connection after it', async () => {
    let answeredAt = 0;
    const exchange = await rawExchange(
      api.baseUrl,
      (socket) => {
        socket.once('data', () => (answeredAt = performance.now()));
        socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
      },
      30_000,
    );
    const response = parseResponse(exchange.text);
    expect(response.status).toBe(200);
    expect(response.headers['keep-alive']).toBe(`timeout=${SHORT.keepAliveMs / 1000}`);
    expect(answeredAt).toBeGreaterThan(0);
    expect(exchange.closedAfterMs).toBeLessThan(SHORT.keepAliveMs + SLACK_MS);
  });
});

describe('request timeouts at the shipped defaults', () => {
  it('are the values docs/operations.md and the README state', async () => {
    const db = await createTestDatabase('timeouts_defaults');
    const api = await bootTestApp({ DATABASE_URL: db.url, REDIS_URL: undefined, API_KEYS: undefined });
    try {
      const server = api.app.getHttpServer();
      expect({
        headers: server.headersTimeout,
        request: server.requestTimeout,
        keepAlive: server.keepAliveTimeout,
      }).toEqual({
        headers: 10_000,
        request: 30_000,
        keepAlive: 5000,
      });
      const operations = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      for (const [name, value] of [
        ['HTTP_HEADERS_TIMEOUT_MS', 10_000],
        ['HTTP_REQUEST_TIMEOUT_MS', 30_000],
        ['HTTP_KEEP_ALIVE_TIMEOUT_MS', 5000],
      ] as const) {
        expect(operations).toMatch(new RegExp(`\\| \`${name}\` \\| \`${value}\` \\|`));
        expect(readme).toMatch(new RegExp(`\\| \`${name}\` \\|[^\\n]*\\| \`${value}\` \\|`));
      }
    } finally {
      await api.close();
      await db.drop();
    }
  });
});
