/** The request header, lower-case as Node.js presents it. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Set on every answer that replays a stored outcome. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

export const MAX_KEY_LENGTH = 255;

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
/** A Structured Field string (RFC 9651 §3.3.3): printable ASCII, with `\\` and `\"` the only escapes. */
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\\"])*)"$/;

export type ParsedKey = { ok: true; key: string } | { ok: false; reason: string };

/**
 * Reads an `Idempotency-Key` value: 1–255 visible ASCII characters, sent bare (`abc-123`) or as a
 * Structured Field string (`"abc-123"`, unquoted here). A repeated header reaches us joined with
 * ", " and so fails on the space, as it should: one request, one key.
 *
 * ```ts
 * parseIdempotencyKey('"order-42"'); // { ok: true, key: 'order-42' }
 * ```
 */
export function parseIdempotencyKey(value: string | string[]): ParsedKey {
  if (Array.isArray(value)) return { ok: false, reason: 'send one Idempotency-Key header, not several' };
  let key = value;
  if (value.startsWith('"')) {
    const quoted = SF_STRING.exec(value);
    if (!quoted) return { ok: false, reason: 'a quoted Idempotency-Key must be a valid Structured Field string' };
    key = quoted[1]!.replace(/\\([\\"])/g, '$1');
  }
  if (key.length === 0) return { ok: false, reason: 'the Idempotency-Key is empty' };
  if (key.length > MAX_KEY_LENGTH) {
    return { ok: false, reason: `the Idempotency-Key is longer than ${MAX_KEY_LENGTH} characters` };
  }
  if (!VISIBLE_ASCII.test(key)) {
    return { ok: false, reason: 'the Idempotency-Key may hold visible ASCII characters only (no spaces or controls)' };
  }
  return { ok: true, key };
}
