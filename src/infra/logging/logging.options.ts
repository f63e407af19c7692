import pino, { type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import { currentRequestId } from './request-context.js';
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

// One sonic-boom per destination: tests boot several apps in one process.
const destinations = new Map<string | number, DestinationStream>();

/**
 * Asynchronous writes: under load, lines written while a write is in flight go out together in
 * one syscall instead of one synchronous write per line. pino flushes them on a normal exit.
 */
function destination(dest: string | number): DestinationStream {
  let stream = destinations.get(dest);
  if (!stream) {
    stream = pino.destination({ dest, mkdir: typeof dest === 'string', sync: false });
    destinations.set(dest, stream);
  }
  return stream;
}

/**
 * The process's root logger: JSON lines (or pino-pretty in development), `reqId` on every line
 * written while handling a request, credentials removed from headers by path and known secrets
 * from every finished line. Nest's logger (`AppLogger`) and the
 * request log (`installRequestLogging`) both write through it.
 */
export function createRootLogger(settings: LoggingSettings): Logger {
  const scrub = secretScrubber([...settings.secrets, ...settings.urlsWithPasswords.map(passwordOf)]);
  const options = {
    level: settings.level,
    redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
    hooks: { streamWrite: scrub },
    // Every line written while handling a request carries its id (request-context.ts). A new
    // object each time: pino merges the line's own fields into it.
    mixin: () => {
      const reqId = currentRequestId();
      return reqId === undefined ? {} : { reqId };
    },
  };
  if (settings.format === 'pretty') {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: {
          singleLine: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,req,res',
          destination: settings.file ?? 1,
        },
      },
    });
  }
  return pino(options, destination(settings.file ?? 1));
}
