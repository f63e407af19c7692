import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { int, parseEnv, url } from './env.js';

export const databaseEnvSchema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'a postgres:// or postgresql:// URL'),
  DATA_DIR: z.string().default('./.data'),
  DATABASE_POOL_SIZE: int(1, 200, 10),
  DATABASE_CONNECT_TIMEOUT_MS: int(100, 60_000, 3000),
  DATABASE_STATEMENT_TIMEOUT_MS: int(100, 600_000, 15_000),
});

export type DatabaseConfig =
  | {
      driver: 'postgres';
      url: string;
      poolSize: number;
      connectTimeoutMs: number;
      statementTimeoutMs: number;
    }
  | { driver: 'pglite'; dataDir: string };

export const databaseConfig = registerAs('database', (): DatabaseConfig => {
  const env = parseEnv(databaseEnvSchema);
  if (env.DATABASE_URL === undefined) return { driver: 'pglite', dataDir: env.DATA_DIR };
  return {
    driver: 'postgres',
    url: env.DATABASE_URL,
    poolSize: env.DATABASE_POOL_SIZE,
    connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
  };
});
