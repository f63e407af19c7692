import { isIP } from 'node:net';
import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { int, InvalidEnvironmentError, list, parseEnv } from './env.js';

/** `TRUST_PROXY`: a hop count, or a comma-separated list of proxy addresses/CIDRs. */
const trustProxy = z
  .string()
  .optional()
  .refine((value) => value === undefined || /^\d{1,2}$/.test(value) || list(value).every(isAddressOrCidr), {
    error: 'expected a hop count (e.g. 1) or comma-separated proxy addresses/CIDRs (e.g. 10.0.0.0/8,::1)',
  })
  .transform((value): number | string[] | undefined => {
    if (value === undefined) return undefined;
    return /^\d+$/.test(value) ? Number(value) : list(value);
  });

function isAddressOrCidr(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

export const httpEnvSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'], { error: 'expected development, production or test' })
    .default('development'),
  PORT: int(1, 65535, 3000),
  HOST: z.string().default('0.0.0.0'),
  TRUST_PROXY: trustProxy,
  SHUTDOWN_DRAIN_MS: int(0, 600_000, 5000),
  SHUTDOWN_QUIET_MS: int(1, 60_000, 250),
  SHUTDOWN_QUIET_MAX_MS: int(1, 600_000, 5000),
  COMPRESSION_THRESHOLD_BYTES: int(0, 1024 * 1024 * 1024, 1024),
  CORS_ORIGINS: z.string().optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'expected fatal, error, warn, info, debug, trace or silent',
    })
    .optional(),
  LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'expected json or pretty' }).optional(),
  LOG_FILE: z.string().optional(),
  // Bounds on a parsed JSON body, checked before validation (docs/security.md, "Request limits").
  BODY_MAX_DEPTH: int(1, 1000, 32),
  BODY_MAX_KEYS: int(1, 10_000_000, 100_000),
  BODY_MAX_OBJECT_KEYS: int(1, 10_000_000, 1000),
  BODY_MAX_ARRAY_LENGTH: int(1, 10_000_000, 10_000),
  // Request timeouts (docs/operations.md, "Timeouts"): a slowloris is cut off, a slow mobile client is not.
  HTTP_HEADERS_TIMEOUT_MS: int(1000, 600_000, 10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(1000, 3_600_000, 30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(1000, 600_000, 5000),
});

export const httpConfig = registerAs('http', () => {
  const env = parseEnv(httpEnvSchema);
  if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
    // Node refuses to start with it, and the headers are part of the request anyway.
    throw new InvalidEnvironmentError([
      {
        variable: 'HTTP_HEADERS_TIMEOUT_MS',
        expected: 'at most HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
      },
    ]);
  }
  if (env.SHUTDOWN_QUIET_MS > env.SHUTDOWN_QUIET_MAX_MS) {
    throw new InvalidEnvironmentError([
      { variable: 'SHUTDOWN_QUIET_MS', expected: 'at most SHUTDOWN_QUIET_MAX_MS (the bound on that wait)' },
    ]);
  }
  return {
    environment: env.NODE_ENV,
    isProduction: env.NODE_ENV === 'production',
    port: env.PORT,
    host: env.HOST,
    trustProxy: env.TRUST_PROXY,
    shutdownDrainMs: env.SHUTDOWN_DRAIN_MS,
    /** After the drain, answers wait and the listener closes once no connection arrived for this long (graceful-close.ts)… */
    shutdownQuietMs: env.SHUTDOWN_QUIET_MS,
    /** …or once answers have waited this long. */
    shutdownQuietMaxMs: env.SHUTDOWN_QUIET_MAX_MS,
    /** Answers smaller than this go uncompressed (compressing them costs more than it saves). */
    compressionThresholdBytes: env.COMPRESSION_THRESHOLD_BYTES,
    corsOrigins: list(env.CORS_ORIGINS),
    // Request lines are info: on by default, except in tests, where only warnings and errors show.
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'warn' : 'info'),
    logFormat: env.LOG_FORMAT ?? (env.NODE_ENV === 'development' ? 'pretty' : 'json'),
    /** Unset: stdout. A path: append there instead (e.g. for a sidecar, or a test reading its own log). */
    logFile: env.LOG_FILE,
    bodyLimitBytes: 1024 * 1024,
    bodyBounds: {
      maxDepth: env.BODY_MAX_DEPTH,
      maxKeys: env.BODY_MAX_KEYS,
      maxObjectKeys: env.BODY_MAX_OBJECT_KEYS,
      maxArrayLength: env.BODY_MAX_ARRAY_LENGTH,
    },
    timeouts: {
      headersMs: env.HTTP_HEADERS_TIMEOUT_MS,
      requestMs: env.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
  };
});
