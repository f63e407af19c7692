import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/** Thrown when `If-None-Match` matches: the response is a bodyless 304 (headers already set). */
export class NotModifiedException extends HttpException {
  constructor() {
    super('Not Modified', 304);
  }
}

/**
 * Sends the 304. Nest sets the route's default status (200) on whatever an interceptor returns, so
 * a 304 leaves the pipeline as an exception; `@Cached` scopes this filter to the handler.
 */
@Catch(NotModifiedException)
export class NotModifiedFilter implements ExceptionFilter {
  catch(_exception: NotModifiedException, host: ArgumentsHost): void {
    void host.switchToHttp().getResponse<FastifyReply>().code(304).send();
  }
}
