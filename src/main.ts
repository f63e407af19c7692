import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory.js';
import { assertValidEnvironment, httpConfig, InvalidEnvironmentError } from './config/index.js';
import { ShutdownState } from './infra/http/shutdown-state.js';

const logger = new Logger('Bootstrap');

async function bootstrap(): Promise<void> {
  try {
    assertValidEnvironment();
  } catch (error) {
    if (!(error instanceof InvalidEnvironmentError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }

  const http = httpConfig();
  const app = await createApp();
  await app.listen({ port: http.port, host: http.host });
  logger.log(`Listening on http://${http.host}:${http.port} (${http.environment})`);
  handleShutdownSignals(app, http.shutdownDrainMs);
}

/**
 * SIGTERM/SIGINT: readiness turns 503 at once and responses carry `Connection: close` for the drain
 * period, then the listener closes, in-flight requests finish, modules shut down, and we exit 0.
 * A second signal exits at once.
 */
function handleShutdownSignals(app: NestFastifyApplication, drainMs: number): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    logger.log(`${signal}: draining for ${drainMs} ms, then closing`);
    app.get(ShutdownState).beginDraining();
    setTimeout(() => {
      app
        .close()
        .then(() => process.exit(0))
        .catch((error: unknown) => {
          logger.error('shutdown failed', error);
          process.exit(1);
        });
    }, drainMs);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

bootstrap().catch((error: unknown) => {
  logger.error('start-up failed', error instanceof Error ? error.stack : error);
  process.exit(1);
});
