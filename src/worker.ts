import 'reflect-metadata';
import { Logger as NestLogger, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { assertValidEnvironment, InvalidEnvironmentError, queueConfig } from './config/index.js';

/**
 * Worker-only entry (`npm run start:worker`): the same modules as the API, without an HTTP
 * listener, so workers scale apart from the API (run the API with WORKERS=false).
 */
const logger = new NestLogger('Worker');

async function bootstrap(): Promise<void> {
  try {
    assertValidEnvironment();
  } catch (error) {
    if (!(error instanceof InvalidEnvironmentError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  if (!queueConfig().workers) {
    process.stderr.write('WORKERS=false: the worker entry would have nothing to do\n');
    process.exit(1);
  }
  const app = await NestFactory.createApplicationContext(AppModule, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  await app.init();
  logger.log(`Worker running (queue driver: ${queueConfig().driver})`);
  handleShutdownSignals(app);
}

/** SIGTERM/SIGINT: workers stop taking jobs, active ones finish (or go back to the queue), exit 0. */
function handleShutdownSignals(app: INestApplicationContext): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    logger.log(`${signal}: closing workers`);
    app
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error('shutdown failed', error instanceof Error ? error.stack : error);
        process.exit(1);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

bootstrap().catch((error: unknown) => {
  logger.error('start-up failed', error instanceof Error ? error.stack : error);
  process.exit(1);
});
