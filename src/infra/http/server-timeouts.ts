import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import { SECURITY_HEADERS } from './security-headers.js';

/** `HTTP_*_TIMEOUT_MS`, as `httpConfig().timeouts` holds them. */
export interface ServerTimeouts {
  headersMs: number;
  requestMs: number;
  keepAliveMs: number;
}

/**
 * The Fastify (and through it Node) options that bound every phase in which the server waits for a
 * client: receiving the headers (`headersTimeout`), receiving the whole request (`requestTimeout`),
 * and an idle keep-alive connection (`keepAliveTimeout`, also announced as `Keep-Alive: timeout=`).
 * Node checks the first two every `connectionsCheckingInterval` (30 s by default, which would let a
 * 10 s limit run to 40 s); once a second keeps them within a second of their value.
 * No inactivity timeout (`connectionTimeout`): it would also cut a response that is slow to compute.
 */
export function serverTimeoutOptions(timeouts: ServerTimeouts) {
  return {
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: 0,
    http: { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: 1000 },
    clientErrorHandler: answerClientError,
  };
}

const CLIENT_ERROR_LINGER_MS = 5000;

interface ClientError extends Error {
  code?: string;
}

/**
 * Node's `clientError`: a request that timed out (408) or could not be parsed (431 for oversized
 * headers, else 400). There is no request object, so the problem+json answer is written to the
 * socket directly, with the security headers and a fresh X-Request-Id, and the connection is closed.
 */
export function answerClientError(error: ClientError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || socket.destroyed) {
    socket.destroy();
    return;
  }
  // A response already under way (e.g. the body timed out after the handler answered) cannot get a second one.
  const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || response?.headersSent === true) {
    socket.destroy();
    return;
  }
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const detail =
    status === 408
      ? 'The request was not received in full in time; send it again, faster.'
      : status === 431
        ? 'The request line or headers are too large.'
        : 'The request is not valid HTTP/1.1.';
  const title = STATUS_CODES[status] ?? 'Error';
  const body = JSON.stringify({ type: 'about:blank', title, status, detail, instance: '/' });
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    'cache-control': 'no-store',
    'x-request-id': randomUUID(),
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  // end(), then destroy once it is flushed: the client gets the answer before the socket closes.
  socket.end(`HTTP/1.1 ${status} ${title}\r\n${head}\r\n${body}`);
  socket.once('finish', () => socket.destroy());
  // A client that reads nothing would keep the socket until its buffers drained.
  setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
}
