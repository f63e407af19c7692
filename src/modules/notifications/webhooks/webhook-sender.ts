import { request } from 'undici';
import { annotateSpan, withSpan } from '../../../infra/tracing/index.js';
import type { SignedWebhook } from './webhook-signer.js';

/**
 * What one attempt came to. `retry` covers every non-2xx answer except 410 and every transport
 * failure (refused, reset, timeout); `gone` is the receiver asking us to stop.
 */
export type AttemptOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'gone'; status: 410 }
  | { kind: 'retry'; status?: number; error: string };

export interface SendOptions {
  timeoutMs: number;
  /** `User-Agent` of every delivery, e.g. `nest-service-template/0.1.0`. */
  userAgent: string;
}

/**
 * POSTs one signed delivery and classifies the answer. Redirects are never followed (undici's
 * `request` does not follow them, and a 3xx counts as a failure), so a receiver cannot bounce a
 * signed event to another host; the whole exchange, body included, is bounded by `timeoutMs`.
 */
export function sendWebhook(url: string, signed: SignedWebhook, options: SendOptions): Promise<AttemptOutcome> {
  // One span per attempt (tracing on), with its outcome; the HTTP client span under it is undici's.
  return withSpan('webhook attempt', { kind: 'client', attributes: { 'http.request.method': 'POST' } }, async () => {
    const outcome = await attempt(url, signed, options);
    annotateSpan({
      'webhook.outcome': outcome.kind,
      ...(outcome.status ? { 'http.response.status_code': outcome.status } : {}),
    });
    return outcome;
  });
}

async function attempt(url: string, signed: SignedWebhook, options: SendOptions): Promise<AttemptOutcome> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await request(url, {
      method: 'POST',
      // With tracing on, undici's instrumentation adds `traceparent` (its client span, under the
      // attempt's): outside the signed content, which covers id, timestamp and body only.
      headers: { ...signed.headers, 'user-agent': options.userAgent },
      body: signed.body,
      signal,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    // The body is not ours to read, but it must be drained for the connection to be reused.
    await response.body.dump({ limit: 64 * 1024, signal });
    const status = response.statusCode;
    if (status >= 200 && status < 300) return { kind: 'delivered', status };
    if (status === 410) return { kind: 'gone', status };
    return { kind: 'retry', status, error: `HTTP ${status}` };
  } catch (error) {
    if (signal.aborted) return { kind: 'retry', error: `timed out after ${options.timeoutMs} ms` };
    return { kind: 'retry', error: describeError(error) };
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const cause = (error as { cause?: { code?: unknown } }).cause?.code;
    const tag = typeof code === 'string' ? code : typeof cause === 'string' ? cause : undefined;
    return tag ? `${tag}: ${error.message}` : error.message;
  }
  return String(error);
}
