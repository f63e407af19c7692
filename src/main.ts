import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import {
  closeOnShutdownSignal,
  exitOnInvalidEnvironment,
  exitOnStartupFailure,
  warnWhenTracingNotStarted,
} from './process-lifecycle.js';
import { databaseConfig, httpConfig } from './config/index.js';
import { preparePgliteDataDir } from './infra/pglite-data-dir/index.js';

const logger = new Logger('Bootstrap');

async function bootstrap(): Promise<void> {
  exitOnInvalidEnvironment();
  // A new embedded database is seconds of initdb: a worker thread creates it while the app's
  // modules load (imported below, not above, so that they load after this line).
  const database = databaseConfig();
  if (database.driver === 'pglite') void preparePgliteDataDir(database.dataDir);
  const [{ createApp }, { closeGracefully, ShutdownState }, { startupLogger }] = await Promise.all([
    import('./app.factory.js'),
    import('./infra/http/index.js'),
    import('./infra/logging/index.js'),
  ]);
  // Until the app's logger takes over, and if start-up fails: scrubbed lines, like every other.
  Logger.overrideLogger(startupLogger());
  warnWhenTracingNotStarted(logger);
  const http = httpConfig();
  const app = await createApp();
  await app.listen({ port: http.port, host: http.host });
  logger.log(`Listening on http://${http.host}:${http.port} (${http.environment})`);

  // SIGTERM: readiness turns 503 at once and responses carry `Connection: close` for the drain
  // period; then the listener closes, open connections end without a reset (graceful-close.ts),
  // modules shut down, exit 0.
  closeOnShutdownSignal(app, logger, async (signal) => {
    logger.log(`${signal}: draining for ${http.shutdownDrainMs} ms, then closing`);
    const shutdown = app.get(ShutdownState);
    shutdown.beginDraining();
    await sleep(http.shutdownDrainMs);
    const closed = await closeGracefully(app.getHttpServer(), {
      shutdown,
      quietMs: http.shutdownQuietMs,
      maxHoldMs: http.shutdownQuietMaxMs,
      deadlineMs: http.timeouts.keepAliveMs,
    });
    // A warning when connections were still arriving or one had to be cut (the fault suite reads this line).
    const summary = `listener closed ${closed.quiet ? 'quiet' : 'NOT quiet'} after holding answers ${closed.heldMs} ms (${closed.acceptedWhileHeld} connections accepted meanwhile): ${closed.open} connections were open, ${closed.destroyed} destroyed after ${http.timeouts.keepAliveMs} ms`;
    if (closed.destroyed > 0 || !closed.quiet) logger.warn(summary);
    else logger.log(summary);
  });
}

bootstrap().catch(exitOnStartupFailure(logger));
