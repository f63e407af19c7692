import { type Dispatcher, request } from 'undici';

/** One answer, read in full. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
  /** ms from sending to the full answer. */
  ms: number;
}

export interface SendOptions {
  method?: string;
  /** Serialised as JSON with `content-type: application/json`. */
  json?: unknown;
  /** A raw body, sent as is (use `headers` for its content type). */
  body?: string;
  headers?: Record<string, string>;
  /** Fails the request (throws) after this long; the default is generous, for bounded-time checks. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

/** Sends one request with undici and reads the whole answer; throws on a network error or timeout. */
export async function send(url: string, options: SendOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const response = await request(url, {
    method: (options.method ?? 'GET') as 'GET',
    headers,
    body,
    dispatcher: options.dispatcher,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.body.text();
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  let json: unknown;
  if (/json/.test(flat['content-type'] ?? '') && text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: response.statusCode, headers: flat, text, json, ms: performance.now() - started };
}

/** The network error code behind a failed request (ECONNREFUSED, UND_ERR_SOCKET, …). */
export function errorCode(error: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== null && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.name : String(error);
}

/** True when the answer is RFC 9457 problem+json whose `status` member matches the status line. */
export function isProblem(answer: Answer): boolean {
  const body = answer.json as { status?: unknown; title?: unknown } | undefined;
  return (
    (answer.headers['content-type'] ?? '').startsWith('application/problem+json') &&
    body?.status === answer.status &&
    typeof body.title === 'string'
  );
}

/** A minimal product input with a unique sku. */
export function productInput(tag: string, index: number): Record<string, unknown> {
  return {
    sku: `F-${tag}-${index}-${Math.random().toString(36).slice(2, 8)}`,
    name: `Fault ${tag} ${index}`,
    priceCents: 100 + index,
    currency: 'EUR',
    stock: 1,
  };
}
