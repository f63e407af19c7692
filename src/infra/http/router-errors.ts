import { randomUUID } from 'node:crypto';
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import type { ConnectionError, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, problemJson } from './problem.js';
import { SECURITY_HEADERS } from './security-headers.js';

/**
 * Answers for requests rejected before any route runs, as problem+json with `X-Request-Id` and
 * the security headers, logged as one line without a stack trace (a malformed request is the
 * client's mistake, and must not cost the log a trace per request):
 * - `frameworkErrors`: Fastify's router refused the URL (a bad percent-encoding: 400; a path
 *   parameter over `maxParamLength`: 414). Fastify sends these from its root context, where
 *   neither our hooks nor Nest's error handler run, so they are written here.
 * - `clientErrorHandler`: Node's HTTP parser refused the bytes (a header section over
 *   `maxHeaderSize`: 431, or 414 when it is the request line that is too long; any other parse
 *   error: 400; a request timeout: 408). There is no request object then, only the socket.
 *
 * ```ts
 * new FastifyAdapter({ frameworkErrors: answerFrameworkError, clientErrorHandler: answerClientError });
 * ```
 */
const logger = new Logger('HTTP');

const CLIENT_ERROR_LINGER_MS = 5000;

const FRAMEWORK_ERRORS: Record<string, { status: number; detail: string }> = {
  FST_ERR_BAD_URL: { status: 400, detail: 'The request path is not a valid URL (bad percent-encoding)' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, detail: 'A path segment is too long' },
};

export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { status, detail } = FRAMEWORK_ERRORS[error.code] ?? { status: 400, detail: 'The request cannot be routed' };
  logger.log({ msg: 'request rejected by the router', reqId: request.id, code: error.code, status });
  void reply
    .code(status)
    .headers(SECURITY_HEADERS)
    .header('x-request-id', request.id)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .send(problemJson(status, detail, request.url.split('?')[0]?.slice(0, 2048) ?? '/'));
}

/** What Node's parser error means for the client; `rawPacket` is the chunk it failed in (a Buffer, whatever the type says). */
function clientErrorStatus(error: ConnectionError): { status: number; detail: string } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, detail: 'The request was not received in time' };
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return isRequestLineOverflow(error.rawPacket)
      ? { status: 414, detail: 'The request line (method, path and query) is too long' }
      : { status: 431, detail: 'The request headers are too large' };
  }
  return { status: 400, detail: 'The request is not valid HTTP' };
}

/**
 * Node counts the request line and the headers against one `maxHeaderSize` and does not say where
 * it overflowed: it was the request line when the packet starts with one that is, alone, at least
 * that long (the usual case of a very long URL, which the contract answers with 414).
 */
function isRequestLineOverflow(packet: unknown): boolean {
  if (!Buffer.isBuffer(packet) || !/^[A-Z]{3,10} \S/.test(packet.subarray(0, 16).toString('latin1'))) return false;
  const end = packet.indexOf('\n');
  return (end < 0 ? packet.length : end) >= maxHeaderSize;
}

export function answerClientError(error: ConnectionError, socket: Socket): void {
  // A reset connection has nobody to answer (https://nodejs.org/api/http.html#event-clienterror).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, detail } = clientErrorStatus(error);
  const requestId = randomUUID();
  logger.log({
    msg: 'malformed request rejected',
    reqId: requestId,
    code: error.code,
    status,
    remoteAddress: socket.remoteAddress,
  });
  // As Node's own handler does: never write into a response already under way on this socket
  // (keep-alive), which would corrupt what the client reads. `_httpMessage` is that response.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const body = problemJson(status, detail, '/');
  const headers = {
    ...SECURITY_HEADERS,
    'cache-control': 'no-store',
    'x-request-id': requestId,
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  // end(), then destroy once flushed: destroying at once could drop the answer before it is sent.
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`);
  socket.once('finish', () => socket.destroy());
  // A client that reads nothing would otherwise keep the socket until its buffers drained.
  setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
}
