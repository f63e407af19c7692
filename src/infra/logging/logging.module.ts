import { Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { authConfig, databaseConfig, httpConfig, mailConfig, redisConfig, webhooksConfig } from '../../config/index.js';
import { loggingParams } from './logging.options.js';
import { RequestContext } from './request-context.js';

/**
 * Structured logs for the whole application (Nest's Logger is routed here in app.factory.ts):
 * JSON lines in production, pretty in development, warnings and errors only in tests.
 * Credentials are removed from headers, and known secrets from every line.
 */
@Global()
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [httpConfig.KEY, authConfig.KEY, webhooksConfig.KEY, mailConfig.KEY, databaseConfig.KEY, redisConfig.KEY],
      useFactory: (
        http: ConfigType<typeof httpConfig>,
        auth: ConfigType<typeof authConfig>,
        webhooks: ConfigType<typeof webhooksConfig>,
        mail: ConfigType<typeof mailConfig>,
        database: ConfigType<typeof databaseConfig>,
        redis: ConfigType<typeof redisConfig>,
      ) =>
        loggingParams({
          level: http.logLevel,
          format: http.logFormat,
          file: http.logFile,
          secrets: [
            ...auth.apiKeys.map((key) => key.secret),
            auth.adminToken,
            webhooks.secret,
            // The signing key itself, without its whsec_ prefix.
            webhooks.secret?.replace(/^whsec_/, ''),
          ],
          urlsWithPasswords: [mail.smtpUrl, database.driver === 'postgres' ? database.url : undefined, redis.url],
        }),
    }),
  ],
  providers: [RequestContext],
  exports: [RequestContext],
})
export class LoggingModule {}
