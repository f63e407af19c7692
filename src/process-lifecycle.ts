import type { INestApplicationContext, Logger } from '@nestjs/common';
import { settlesWithin } from './common/index.js';
import { assertValidEnvironment, InvalidEnvironmentError, tracingSettings } from './config/index.js';
import { shutdownTracing, tracingEnabled } from './infra/tracing/index.js';

/** Start-up's first step: a bad environment prints one message naming every bad variable and exits 1. */
export function exitOnInvalidEnvironment(): void {
  try {
    assertValidEnvironment();
  } catch (error) {
    if (!(error instanceof InvalidEnvironmentError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

const TRACING_FLUSH_MS = 2000;

/** An OTLP endpoint set but no preload (`node dist/main.js`, `start:dev`): say so instead of tracing nothing. */
export function warnWhenTracingNotStarted(logger: Logger): void {
  if (tracingSettings().enabled && !tracingEnabled()) {
    logger.warn('an OTLP endpoint is set but tracing did not start: run node with --import ./dist/telemetry.js');
  }
}

/**
 * On SIGTERM/SIGINT: runs `beforeClose` (e.g. a drain period), then `app.close()` (every module's
 * shutdown hooks), then exits 0 — or 1 if closing failed. A second signal exits at once.
 */
export function closeOnShutdownSignal(
  app: INestApplicationContext,
  logger: Logger,
  beforeClose: (signal: NodeJS.Signals) => Promise<void> = () => Promise.resolve(),
): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    beforeClose(signal)
      .then(() => app.close())
      // Spans still queued are exported before the exit (nothing to do with tracing off), for at
      // most 2 s: a collector that is down must not hold the exit past the shutdown budget.
      .then(() => settlesWithin(shutdownTracing(), TRACING_FLUSH_MS))
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error('shutdown failed', error instanceof Error ? error.stack : error);
        process.exit(1);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** The last line of an entry point: a failed start-up is logged and exits 1. */
export function exitOnStartupFailure(logger: Logger): (error: unknown) => never {
  return (error) => {
    logger.error('start-up failed', error instanceof Error ? error.stack : error);
    process.exit(1);
  };
}
