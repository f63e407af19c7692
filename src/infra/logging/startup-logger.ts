import type { ConfigType } from '@nestjs/config';
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
import { createRootLogger, type LoggingSettings } from './logging.options.js';

/** The namespaces the log settings come from (the secrets to scrub live in several). */
export interface LoggingSources {
  http: ConfigType<typeof httpConfig>;
  auth: ConfigType<typeof authConfig>;
  webhooks: ConfigType<typeof webhooksConfig>;
  mail: ConfigType<typeof mailConfig>;
  database: ConfigType<typeof databaseConfig>;
  redis: ConfigType<typeof redisConfig>;
  tracing: ConfigType<typeof tracingConfig>;
}

/** Level, format, destination, and every value that must never appear in a line. */
export function loggingSettingsOf({
  http,
  auth,
  webhooks,
  mail,
  database,
  redis,
  tracing,
}: LoggingSources): LoggingSettings {
  return {
    level: http.logLevel,
    format: http.logFormat,
    file: http.logFile,
    secrets: [
      ...auth.apiKeys.map((key) => key.secret),
      auth.adminToken,
      webhooks.secret,
      // The signing key itself, without its whsec_ prefix.
      webhooks.secret?.replace(/^whsec_/, ''),
      // OTLP export headers usually carry a collector's API key.
      ...Object.values(tracing.headers),
    ],
    urlsWithPasswords: [
      mail.smtpUrl,
      database.driver === 'postgres' ? database.url : undefined,
      redis.url,
      // REDIS_CLUSTER_NODES entries may carry credentials too.
      ...(redis.clusterNodes ?? []),
    ],
  };
}

/**
 * Nest's logger until the application's own takes over (`app.useLogger`), and for a start-up
 * that fails before it exists: the same scrubbed pino output, so a failing start-up (a database
 * URL with its password, an unreachable Redis) prints no secret either. Call it after the
 * environment is validated.
 *
 * ```ts
 * Logger.overrideLogger(startupLogger());
 * ```
 */
export function startupLogger(): AppLogger {
  const settings = loggingSettingsOf({
    http: httpConfig(),
    auth: authConfig(),
    webhooks: webhooksConfig(),
    mail: mailConfig(),
    database: databaseConfig(),
    redis: redisConfig(),
    tracing: tracingConfig(),
  });
  return new AppLogger(createRootLogger(settings));
}
