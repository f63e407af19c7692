import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';

/**
 * The request id of the work in progress, for code that hands work on (e.g. a job enqueued
 * during a request carries it), and a way to log under a given id later (e.g. in the worker).
 *
 * ```ts
 * const data = { ...payload, requestId: this.requestContext.currentRequestId() };
 * // in the processor:
 * await this.requestContext.run(job.data.requestId, () => this.handle(job));
 * ```
 */
@Injectable()
export class RequestContext {
  constructor(private readonly pino: PinoLogger) {}

  /** The id of the request being handled (its `X-Request-Id`), or undefined outside a request. */
  currentRequestId(): string | undefined {
    const id: unknown = this.pino.logger.bindings().reqId;
    return typeof id === 'string' ? id : undefined;
  }

  /** Runs `fn` so that every line it logs (through Nest's Logger or PinoLogger) carries `reqId`. */
  run<T>(requestId: string | undefined, fn: () => T): T {
    if (requestId === undefined) return fn();
    return this.pino.runInContext(fn, { bindings: { reqId: requestId } });
  }
}
