import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import pino, { type DestinationStream, type LevelWithSilent } from 'pino';
import type { Options } from 'pino-http';
import { passwordOf, secretScrubber } from './secret-scrubber.js';

export interface LoggingSettings {
  level: LevelWithSilent;
  format: 'json' | 'pretty';
  file: string | undefined;
  /** Values that must never appear in a log line (API keys, webhook secret, passwords). */
  secrets: Array<string | undefined>;
  /** URLs whose passwords must never appear (SMTP, database, Redis). */
  urlsWithPasswords: Array<string | undefined>;
}

/** Header paths removed from every line before it is written. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** Successful requests to these paths are not logged. */
const QUIET_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

// One sonic-boom per file: nestjs-pino keeps a single root logger per process anyway.
const files = new Map<string, DestinationStream>();

function fileDestination(path: string): DestinationStream {
  let destination = files.get(path);
  if (!destination) {
    destination = pino.destination({ dest: path, mkdir: true, sync: false });
    files.set(path, destination);
  }
  return destination;
}

/**
 * nestjs-pino parameters: JSON lines (or pino-pretty in development), one `reqId` per request,
 * taken from Fastify's `request.id` (itself taken from `X-Request-Id` or generated), bound to
 * every line logged while the request runs.
 */
export function loggingParams(settings: LoggingSettings): Params {
  const scrub = secretScrubber([...settings.secrets, ...settings.urlsWithPasswords.map(passwordOf)]);
  const options: Options<IncomingMessage, ServerResponse> = {
    level: settings.level,
    // @fastify/middie copies Fastify's request.id onto the raw request before middleware runs.
    genReqId: (req) => (req as IncomingMessage & { id?: string }).id ?? randomUUID(),
    // Lines logged during a request carry only `reqId`; the completion line carries req and res.
    quietReqLogger: true,
    customLogLevel: (req, res, error) => {
      // Probes and scrapes arrive every few seconds: log them only when they fail.
      if (res.statusCode < 400 && req.url !== undefined && QUIET_PATHS.has(req.url)) return 'silent';
      // 503 is a dependency outage or a drain, already explained by the line that caused it.
      if (res.statusCode === 503) return 'warn';
      return error !== undefined || res.statusCode >= 500 ? 'error' : 'info';
    },
    customSuccessMessage: (req, res) => `${req.method} ${req.url} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${req.url} ${res.statusCode}`,
    // pino-http invents an Error ("failed with status code 500") for 5xx; the exception filter
    // has already logged the real one with this reqId.
    customErrorObject: (_req, _res, _error, value: Record<string, unknown>) => {
      const { err: _synthetic, ...rest } = value;
      return rest;
    },
    serializers: {
      req: (req: { id: string; method: string; url: string; headers: unknown; remoteAddress: string }) => ({
        method: req.method,
        url: req.url,
        headers: req.headers,
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
    hooks: { streamWrite: scrub },
    ...(settings.format === 'pretty'
      ? {
          transport: {
            target: 'pino-pretty',
            options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,req,res', destination: settings.file ?? 1 },
          },
        }
      : {}),
  };
  const pinoHttp: Params['pinoHttp'] =
    settings.format === 'json' && settings.file !== undefined ? [options, fileDestination(settings.file)] : options;
  // Nest 12.5 on Fastify matches no request with nestjs-pino's default pattern (see STACK-NOTES).
  return { pinoHttp, forRoutes: ['{*splat}'] };
}
