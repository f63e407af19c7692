import type { ConfigType } from '@nestjs/config';
import { authConfig, authEnvSchema } from './auth.config.js';
import { cacheConfig, cacheEnvSchema } from './cache.config.js';
import { countersConfig, countersEnvSchema } from './counters.config.js';
import { databaseConfig, databaseEnvSchema } from './database.config.js';
import { currentEnv, InvalidEnvironmentError, problemsOf, type EnvProblem } from './env.js';
import { httpConfig, httpEnvSchema } from './http.config.js';
import { idempotencyConfig, idempotencyEnvSchema } from './idempotency.config.js';
import { mailConfig, mailEnvSchema } from './mail.config.js';
import { configNamespaces } from './namespaces.js';
import { productionProblems } from './production-checks.js';
import { queueConfig, queueEnvSchema } from './queue.config.js';
import { redisConfig, redisEnvSchema } from './redis.config.js';
import { throttleConfig, throttleEnvSchema } from './throttle.config.js';
import { tracingConfig, tracingEnvSchema, tracingSettings } from './tracing.config.js';
import { webhooksConfig, webhooksEnvSchema } from './webhooks.config.js';

export {
  authConfig,
  cacheConfig,
  countersConfig,
  databaseConfig,
  httpConfig,
  idempotencyConfig,
  mailConfig,
  queueConfig,
  redisConfig,
  throttleConfig,
  tracingConfig,
  tracingSettings,
  webhooksConfig,
};
export { AppConfigModule } from './app-config.module.js';
export { InvalidEnvironmentError } from './env.js';
export { CACHE_DEFAULTS } from './cache.config.js';
export { parseRedisUrl, type RedisEndpoint } from './redis.config.js';
export type { ApiKey } from './auth.config.js';
export type { DatabaseConfig } from './database.config.js';
export type { QueueWorkerSettings, WorkerProfile } from './queue.config.js';
export type { TracingSettings } from './tracing.config.js';

export type HttpConfig = ConfigType<typeof httpConfig>;
export type RedisConfig = ConfigType<typeof redisConfig>;
export type CacheConfig = ConfigType<typeof cacheConfig>;
export type CountersConfig = ConfigType<typeof countersConfig>;
export type ThrottleConfig = ConfigType<typeof throttleConfig>;
export type QueueConfig = ConfigType<typeof queueConfig>;
export type WebhooksConfig = ConfigType<typeof webhooksConfig>;
export type MailConfig = ConfigType<typeof mailConfig>;
export type AuthConfig = ConfigType<typeof authConfig>;
export type IdempotencyConfig = ConfigType<typeof idempotencyConfig>;

const schemas = [
  httpEnvSchema,
  databaseEnvSchema,
  redisEnvSchema,
  cacheEnvSchema,
  throttleEnvSchema,
  queueEnvSchema,
  webhooksEnvSchema,
  mailEnvSchema,
  authEnvSchema,
  countersEnvSchema,
  idempotencyEnvSchema,
  tracingEnvSchema,
];

/**
 * Checks every namespace at once so that one start-up names every bad variable.
 * @throws InvalidEnvironmentError listing each offending variable and what it expects.
 */
export function assertValidEnvironment(): void {
  const env = currentEnv();
  const seen = new Set<string>();
  const problems: EnvProblem[] = [];
  for (const schema of schemas) {
    const result = schema.safeParse(env);
    if (result.success) continue;
    for (const problem of problemsOf(result.error)) {
      if (seen.has(problem.variable)) continue;
      seen.add(problem.variable);
      problems.push(problem);
    }
  }
  // Loading each namespace exercises the cross-field rules that live in their factories too.
  for (const load of configNamespaces) {
    try {
      load();
    } catch (error) {
      if (!(error instanceof InvalidEnvironmentError)) throw error;
      for (const problem of error.problems) {
        if (!seen.has(problem.variable)) {
          seen.add(problem.variable);
          problems.push(problem);
        }
      }
    }
  }
  // Production refuses configurations that parse but are unsafe (docs/security.md).
  if (problems.length === 0 && httpConfig().isProduction) {
    problems.push(...productionProblems({ http: httpConfig(), auth: authConfig(), webhooks: webhooksConfig() }));
  }
  if (problems.length > 0) throw new InvalidEnvironmentError(problems);
}
