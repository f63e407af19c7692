import { createHash } from 'node:crypto';

/** What identifies "the same request" for an idempotency key. */
export interface FingerprintedRequest {
  method: string;
  /** The route template Fastify matched (`/v1/products/:id`), not the raw URL. */
  route: string;
  params: Record<string, string>;
  /** The body's bytes exactly as received (empty when there is none). */
  body: Buffer;
}

/**
 * SHA-256 (hex) over method, route template, path parameters (sorted by name) and the SHA-256 of
 * the exact body bytes: a retry must send the same bytes, not just an equivalent JSON document,
 * which keeps the check cheap and free of any canonicalisation rules.
 */
export function requestFingerprint(request: FingerprintedRequest): string {
  const params = Object.entries(request.params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const bodyDigest = createHash('sha256').update(request.body).digest('hex');
  return createHash('sha256')
    .update(JSON.stringify([request.method.toUpperCase(), request.route, params, bodyDigest]))
    .digest('hex');
}
