import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidCursorError, isConstraintViolation, isDatabaseUnavailable } from '../database/index.js';
import { PROBLEM_CONTENT_TYPE, ProblemException, type ProblemDetails, titleOf } from './problem.js';
import { RouteMethods } from './route-methods.js';

interface Rendered {
  status: number;
  detail: string;
  exception?: ProblemException;
}

/** Fastify's own client errors arrive wrapped in an HttpException, the original in `cause`. */
const fastifyDetails: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is larger than 1 MiB',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Send the request body as application/json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'The request body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request body is empty; send a JSON object',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'The Content-Length header does not match the body',
  FST_ERR_CTP_INVALID_CHARSET: 'Send the request body as UTF-8',
};

const INVALID_CURSOR = new ProblemException(400, 'The cursor is invalid', {
  errors: [{ field: 'cursor', message: 'is not a cursor this API returned' }],
});

const DATABASE_UNAVAILABLE = new ProblemException(503, 'The database is unavailable; try again shortly', {
  headers: { 'retry-after': '2' },
});

/**
 * Turns every error into RFC 9457 problem+json. Client errors are answered as they are;
 * anything unexpected is logged once, with the request id, and answered with a bare 500,
 * so no stack trace, SQL or driver message reaches a client.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly routeMethods: RouteMethods) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const rendered = this.render(exception, request);

    const body: ProblemDetails = {
      type: 'about:blank',
      title: titleOf(rendered.status),
      status: rendered.status,
      detail: rendered.detail,
      instance: request.url.split('?')[0] ?? '/',
      ...(rendered.exception?.problem.errors ? { errors: rendered.exception.problem.errors } : {}),
      ...rendered.exception?.problem.extensions,
    };
    for (const [name, value] of Object.entries(rendered.exception?.problem.headers ?? {})) reply.header(name, value);
    void reply.status(rendered.status).header('content-type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
  }

  private render(exception: unknown, request: FastifyRequest): Rendered {
    if (exception instanceof ProblemException) {
      return { status: exception.getStatus(), detail: exception.detail, exception };
    }
    if (exception instanceof NotFoundException) {
      // No route for this method: if the path exists with other methods only, that is a 405. A path
      // whose route does take this method (a missing file under /docs/*) stays a 404.
      const allowed = this.routeMethods.allowedFor(request.url.split('?')[0] ?? '/');
      const method = request.method === 'HEAD' ? 'GET' : request.method;
      if (allowed.length > 0 && !allowed.includes(method)) {
        const detail = `${request.method} is not allowed here; use ${allowed.join(', ')}`;
        return {
          status: 405,
          detail,
          exception: new ProblemException(405, detail, { headers: { allow: allowed.join(', ') } }),
        };
      }
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = (exception.cause as { code?: string } | undefined)?.code;
      const detail = (code && fastifyDetails[code]) ?? this.messageOf(exception);
      if (status >= 500) this.logger.error({ msg: 'request failed', reqId: request.id, err: exception });
      return { status, detail };
    }
    // The client left before its request was whole (a body cut short): the socket error (ECONNRESET)
    // must not read as a database outage. Nobody will see the answer; the request log says "aborted".
    if (!request.raw.complete && (request.raw.destroyed || request.raw.socket?.destroyed === true)) {
      return { status: 400, detail: 'The client closed the connection before the request was complete' };
    }
    if (exception instanceof InvalidCursorError) return this.render(INVALID_CURSOR, request);
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn({ msg: 'database unavailable', reqId: request.id, err: String(exception) });
      return this.render(DATABASE_UNAVAILABLE, request);
    }
    if (isConstraintViolation(exception)) {
      return { status: 409, detail: 'The request conflicts with the stored state of the resource' };
    }
    this.logger.error({ msg: 'unexpected error', reqId: request.id, err: exception });
    return { status: 500, detail: 'An unexpected error occurred' };
  }

  private messageOf(exception: HttpException): string {
    const response = exception.getResponse();
    if (typeof response === 'string') return response;
    const message = (response as { message?: unknown }).message;
    if (Array.isArray(message)) return message.join('; ');
    if (typeof message === 'string') return message;
    return titleOf(exception.getStatus());
  }
}
