import { Global, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Logger } from 'pino';
import {
  authConfig,
  databaseConfig,
  httpConfig,
  mailConfig,
  redisConfig,
  tracingConfig,
  webhooksConfig,
} from '../../config/index.js';
import { AppLogger } from './app-logger.js';
import { createRootLogger, flushLogs } from './logging.options.js';
import { loggingSettingsOf } from './startup-logger.js';

/** Injection token of the root pino logger (for Fastify hooks and code that logs structured fields). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * Structured logs for the whole application (Nest's Logger is routed here in app.factory.ts):
 * JSON lines in production, pretty in development, warnings and errors only in tests.
 * Credentials are removed from headers, and known secrets from every line.
 */
@Global()
@Module({
  providers: [
    {
      provide: ROOT_LOGGER,
      inject: [
        httpConfig.KEY,
        authConfig.KEY,
        webhooksConfig.KEY,
        mailConfig.KEY,
        databaseConfig.KEY,
        redisConfig.KEY,
        tracingConfig.KEY,
      ],
      useFactory: (
        http: ConfigType<typeof httpConfig>,
        auth: ConfigType<typeof authConfig>,
        webhooks: ConfigType<typeof webhooksConfig>,
        mail: ConfigType<typeof mailConfig>,
        database: ConfigType<typeof databaseConfig>,
        redis: ConfigType<typeof redisConfig>,
        tracing: ConfigType<typeof tracingConfig>,
      ): Logger => createRootLogger(loggingSettingsOf({ http, auth, webhooks, mail, database, redis, tracing })),
    },
    { provide: AppLogger, inject: [ROOT_LOGGER], useFactory: (root: Logger) => new AppLogger(root) },
  ],
  exports: [ROOT_LOGGER, AppLogger],
})
export class LoggingModule implements OnApplicationShutdown {
  /**
   * Lines still buffered by the asynchronous destination are written, and the writes awaited,
   * before the process exits (anything logged after this is written synchronously on `exit`).
   */
  async onApplicationShutdown(): Promise<void> {
    await flushLogs();
  }
}
