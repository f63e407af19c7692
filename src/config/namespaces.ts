import { authConfig } from './auth.config.js';
import { cacheConfig } from './cache.config.js';
import { countersConfig } from './counters.config.js';
import { databaseConfig } from './database.config.js';
import { httpConfig } from './http.config.js';
import { idempotencyConfig } from './idempotency.config.js';
import { mailConfig } from './mail.config.js';
import { queueConfig } from './queue.config.js';
import { redisConfig } from './redis.config.js';
import { throttleConfig } from './throttle.config.js';
import { tracingConfig } from './tracing.config.js';
import { webhooksConfig } from './webhooks.config.js';

// Apart from index.ts so that AppConfigModule (which index.ts exports) can load them without a cycle.
/** Every namespace, in the order ConfigModule loads them. */
export const configNamespaces = [
  httpConfig,
  databaseConfig,
  redisConfig,
  cacheConfig,
  throttleConfig,
  queueConfig,
  webhooksConfig,
  mailConfig,
  authConfig,
  countersConfig,
  idempotencyConfig,
  tracingConfig,
];
