import autocannon from 'autocannon';
import { LatencyRecorder, type LatencySummary } from './stats.js';

export interface LoadRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Builds each request's path (and body, and headers of its own): called once per request. */
  next: () => { path: string; body?: string; headers?: Record<string, string> };
  headers?: Record<string, string>;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationSec: number;
  warmupSec: number;
  request: LoadRequest;
  /** Requests per second over all connections (default: as fast as the server answers). */
  overallRate?: number;
}

/** What one measured load run produced. Latencies are in milliseconds, measured per response with hrtime. */
export interface LoadResult extends LatencySummary {
  requestsPerSec: number;
  total: number;
  /** Requests sent, warm-up included (some were in flight when a phase ended, and were served all the same). */
  sent: number;
  /** Connection errors + timeouts + non-2xx responses. */
  errors: number;
  statusCodes: Record<string, number>;
  durationSec: number;
}

/**
 * Runs `warmupSec` of unmeasured load, then `durationSec` of measured load, with autocannon's
 * programmatic API. autocannon's own latency histogram has 1 ms resolution, so latencies are
 * recorded here from its `response` event (sub-millisecond).
 * @example await runLoad({ url, connections: 50, durationSec: 8, warmupSec: 2, request: { next: () => ({ path: '/v1/products/1' }) } })
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const warmup = options.warmupSec > 0 ? await once(options, options.warmupSec, undefined) : undefined;
  const recorder = new LatencyRecorder();
  const result = await once(options, options.durationSec, recorder);
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  const seconds = result.duration;
  return {
    requestsPerSec: Math.round(result.requests.total / seconds),
    total: result.requests.total,
    sent: result.requests.sent + (warmup?.requests.sent ?? 0),
    errors: result.errors + result.non2xx,
    statusCodes,
    durationSec: Math.round(seconds * 10) / 10,
    ...recorder.summary(),
  };
}

function once(
  options: LoadOptions,
  durationSec: number,
  recorder: LatencyRecorder | undefined,
): Promise<autocannon.Result> {
  const { request } = options;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: durationSec,
        ...(options.overallRate !== undefined ? { overallRate: options.overallRate } : {}),
        method: request.method ?? 'GET',
        headers: request.headers,
        requests: [
          {
            setupRequest: (req) => {
              const { path, body, headers } = request.next();
              const withHeaders = headers
                ? { ...req, path, headers: { ...req.headers, ...headers } }
                : { ...req, path };
              return body === undefined ? withHeaders : { ...withHeaders, body };
            },
          },
        ],
      },
      (error: unknown, result) =>
        error ? reject(error instanceof Error ? error : new Error('autocannon failed')) : resolve(result),
    );
    if (recorder) {
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode < 400) recorder.record(responseTime);
      });
    }
  });
}
