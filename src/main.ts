import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory.js';
import { closeOnShutdownSignal, exitOnInvalidEnvironment, exitOnStartupFailure } from './common/process-lifecycle.js';
import { httpConfig } from './config/index.js';
import { ShutdownState } from './infra/http/shutdown-state.js';
import { startupLogger } from './infra/logging/startup-logger.js';

const logger = new Logger('Bootstrap');

async function bootstrap(): Promise<void> {
  exitOnInvalidEnvironment();
  // Until the app's logger takes over, and if start-up fails: scrubbed lines, like every other.
  Logger.overrideLogger(startupLogger());
  const http = httpConfig();
  const app = await createApp();
  await app.listen({ port: http.port, host: http.host });
  logger.log(`Listening on http://${http.host}:${http.port} (${http.environment})`);

  // SIGTERM: readiness turns 503 at once and responses carry `Connection: close` for the drain
  // period; then the listener closes, in-flight requests finish, modules shut down, exit 0.
  closeOnShutdownSignal(app, logger, async (signal) => {
    logger.log(`${signal}: draining for ${http.shutdownDrainMs} ms, then closing`);
    app.get(ShutdownState).beginDraining();
    await sleep(http.shutdownDrainMs);
  });
}

bootstrap().catch(exitOnStartupFailure(logger));
