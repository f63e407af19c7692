import type { LoggerService } from '@nestjs/common';
import type { Logger as Pino } from 'pino';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * Nest's `LoggerService` over the root pino logger, so `new Logger('Cache').warn(…)` anywhere in
 * the app becomes one JSON line with `context: "Cache"`. An object message is merged into the line
 * (`logger.warn({ msg: 'probe failed', component: 'redis' })`), an Error becomes `err`.
 *
 * ```ts
 * const app = await NestFactory.create(AppModule, adapter, { bufferLogs: true });
 * app.useLogger(app.get(AppLogger));
 * ```
 */
export class AppLogger implements LoggerService {
  constructor(private readonly pino: Pino) {}

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /**
   * Nest passes the context last: `(message, context)`, or `(message, stack, context)` for errors;
   * anything else passed along is kept (an Error as `err`, other values as `details`).
   */
  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    const rest = [...params];
    // A logger without a context passes the stack last: that is not a context.
    if (rest.length > 0 && !isStack(rest[rest.length - 1])) fields.context = rest.pop();
    const stack = rest.length > 0 && isStack(rest[0]) ? (rest.shift() as string) : undefined;
    const error = rest.length > 0 && rest[0] instanceof Error ? (rest.shift() as Error) : undefined;
    if (rest.length > 0) fields.details = rest.length === 1 ? rest[0] : rest;
    if (message instanceof Error) {
      this.pino[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...message, ...(error ? { err: error } : {}) });
    } else if (stack !== undefined) {
      // Nest's own exception handlers call error(message, stack, context).
      const err = new Error(String(message));
      err.stack = stack;
      this.pino[level]({ ...fields, err }, err.message);
    } else {
      this.pino[level]({ ...fields, ...(error ? { err: error } : {}) }, String(message));
    }
  }
}

function isStack(value: unknown): boolean {
  return typeof value === 'string' && /\n\s*at /.test(value);
}
