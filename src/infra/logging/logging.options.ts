import pino, { type LevelWithSilent, type Logger } from 'pino';
import { currentTraceIds } from '../tracing/index.js';
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

/**
 * Lines are held in memory until this many bytes are waiting, then written in one syscall (a
 * product GET's line is ~400 bytes, so about ten lines per write under load).
 */
export const LOG_BUFFER_BYTES = 4096;
/** …and whatever is waiting is written at least this often, so a quiet instance's lines do not linger. */
export const LOG_FLUSH_INTERVAL_MS = 100;

/** pino's asynchronous file destination (a sonic-boom). */
type Destination = ReturnType<typeof pino.destination>;

// One sonic-boom per destination: tests boot several apps in one process.
const destinations = new Map<string | number, Destination>();

/**
 * Asynchronous, buffered writes: lines wait in memory (up to `LOG_BUFFER_BYTES`, at most
 * `LOG_FLUSH_INTERVAL_MS`) and go out together in one non-blocking write. What is still buffered
 * when the process ends is not lost: `flushLogs()` (awaited at application shutdown) writes it
 * and waits for the write, and pino writes anything later synchronously on `exit`.
 */
function destination(dest: string | number): Destination {
  let stream = destinations.get(dest);
  if (!stream) {
    stream = pino.destination({
      dest,
      mkdir: typeof dest === 'string',
      sync: false,
      minLength: LOG_BUFFER_BYTES,
      periodicFlush: LOG_FLUSH_INTERVAL_MS,
    });
    destinations.set(dest, stream);
  }
  return stream;
}

/** The longest `flushLogs` waits for a destination (a pipe whose reader stopped reading never drains). */
const FLUSH_WAIT_MS = 2_000;

/**
 * Writes every buffered line of every destination and resolves once the writes have completed,
 * or after `FLUSH_WAIT_MS` (errors are ignored: a log that cannot be written must not block
 * shutdown; pino's synchronous flush on `exit` still comes after).
 */
export async function flushLogs(): Promise<void> {
  await Promise.all(
    [...destinations.values()].map(
      (stream) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, FLUSH_WAIT_MS);
          timer.unref();
          const done = (): void => {
            clearTimeout(timer);
            resolve();
          };
          try {
            stream.flush(done);
          } catch {
            done();
          }
        }),
    ),
  );
}

/** Per root logger, the one request lines are written with (see `requestLineLogger`). */
const requestLoggers = new WeakMap<Logger, Logger>();

/**
 * The logger for request lines of `root`: the same destination, level and secret scrubbing, but
 * no header redaction and no request-context mixin. A request line is built from named fields
 * (method, URL, user agent, address, status: request-logging.hook.ts), never from headers, so the
 * redaction paths can never match it, and it sets `reqId` itself; skipping both saves their work
 * on the line every request writes. Falls back to `root` for a logger made elsewhere.
 */
export function requestLineLogger(root: Logger): Logger {
  return requestLoggers.get(root) ?? root;
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
    // Every line written while handling a request carries its id (request-context.ts), and every
    // line inside a traced request or job its trace_id and span_id. A new object each time: pino
    // merges the line's own fields into it.
    mixin: () => {
      const reqId = currentRequestId();
      const ids = currentTraceIds();
      if (ids === undefined) return reqId === undefined ? {} : { reqId };
      return reqId === undefined ? { ...ids } : { reqId, ...ids };
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
  const stream = destination(settings.file ?? 1);
  const root = pino(options, stream);
  requestLoggers.set(root, pino({ level: settings.level, hooks: options.hooks }, stream));
  return root;
}
