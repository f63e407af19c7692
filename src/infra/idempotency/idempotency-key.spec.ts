import { describe, expect, it } from 'vitest';
import { parseIdempotencyKey } from './idempotency-key.js';
import { requestFingerprint } from './request-fingerprint.js';

describe('parseIdempotencyKey', () => {
  it.each([
    ['order-42', 'order-42'],
    ['"order-42"', 'order-42'],
    ['"a\\"b\\\\c"', 'a"b\\c'],
    ['a"b', 'a"b'],
    ['k'.repeat(255), 'k'.repeat(255)],
    [`"${'k'.repeat(255)}"`, 'k'.repeat(255)],
  ])('accepts %j as %j', (value, key) => {
    expect(parseIdempotencyKey(value)).toEqual({ ok: true, key });
  });

  it.each([
    ['empty', ''],
    ['empty quoted', '""'],
    ['256 characters', 'k'.repeat(256)],
    ['256 characters quoted', `"${'k'.repeat(256)}"`],
    ['a space', 'a b'],
    ['a quoted space', '"a b"'],
    ['two headers joined by Node.js', 'a, b'],
    ['a tab', 'a\tb'],
    ['a control character', 'a\u0001b'],
    ['DEL', 'a\u007fb'],
    ['non-ASCII', 'clé'],
    ['an unterminated quote', '"abc'],
    ['a bad escape', '"a\\nb"'],
    ['an unescaped quote inside', '"a"b"'],
  ])('refuses %s', (_label, value) => {
    expect(parseIdempotencyKey(value).ok).toBe(false);
  });

  it('refuses several header values', () => {
    expect(parseIdempotencyKey(['a', 'b']).ok).toBe(false);
  });
});

describe('requestFingerprint', () => {
  const base = { method: 'PATCH', route: '/v1/products/:id', params: { id: '1' }, body: Buffer.from('{"a":1}') };

  it('is stable, and independent of the order of path parameters', () => {
    expect(requestFingerprint(base)).toBe(requestFingerprint({ ...base, method: 'patch' }));
    expect(requestFingerprint({ ...base, params: { a: '1', b: '2' } })).toBe(
      requestFingerprint({ ...base, params: { b: '2', a: '1' } }),
    );
  });

  it.each([
    ['method', { method: 'DELETE' }],
    ['route', { route: '/v1/users/:id' }],
    ['path parameter', { params: { id: '2' } }],
    ['body bytes', { body: Buffer.from('{"a": 1}') }],
  ])('changes with the %s', (_label, change) => {
    expect(requestFingerprint({ ...base, ...change })).not.toBe(requestFingerprint(base));
  });
});
