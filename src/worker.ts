import 'reflect-metadata';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import {
  closeOnShutdownSignal,
  exitOnInvalidEnvironment,
  exitOnStartupFailure,
  warnWhenTracingNotStarted,
} from './process-lifecycle.js';
import { queueConfig } from './config/index.js';
import { AppLogger, startupLogger } from './infra/logging/index.js';

/**
 * Worker-only entry (`npm run start:worker`): the same modules as the API, without an HTTP
 * listener, so workers scale apart from the API (run the API with WORKERS=false).
 */
const logger = new NestLogger('Worker');

async function bootstrap(): Promise<void> {
  exitOnInvalidEnvironment();
  // Until the app's logger takes over, and if start-up fails: scrubbed lines, like every other.
  NestLogger.overrideLogger(startupLogger());
  warnWhenTracingNotStarted(logger);
  if (!queueConfig().workers) {
    process.stderr.write('WORKERS=false: the worker entry would have nothing to do\n');
    process.exit(1);
  }
  const app = await NestFactory.createApplicationContext(AppModule, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(AppLogger));
  await app.init();
  logger.log(`Worker running (queue driver: ${queueConfig().driver})`);
  // SIGTERM: workers stop taking jobs, active ones finish (or go back to the queue), exit 0.
  closeOnShutdownSignal(app, logger, (signal) => {
    logger.log(`${signal}: closing workers`);
    return Promise.resolve();
  });
}

bootstrap().catch(exitOnStartupFailure(logger));
