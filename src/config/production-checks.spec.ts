import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { assertValidEnvironment, InvalidEnvironmentError } from './index.js';
import { estimatedBits, isWeakSecret } from './production-checks.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** A configuration production accepts: named keys, distinct strong secrets, a 32-byte webhook key. */
const SAFE = {
  NODE_ENV: 'production',
  API_KEYS: `mobile:${hex(16)},backend:${hex(24)}`,
  ADMIN_TOKEN: hex(16),
  WEBHOOK_URLS: 'https://hooks.example.test/in',
  WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
  CORS_ORIGINS: 'https://app.example.test',
  TRUST_PROXY: '10.0.0.0/8',
};

/** Every problem `assertValidEnvironment` reports for SAFE with `overrides`, as `VARIABLE: message`. */
function problemsWith(overrides: Record<string, string>): string[] {
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, SAFE, overrides);
  try {
    assertValidEnvironment();
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEnvironmentError);
    const problems = (error as InvalidEnvironmentError).problems.map((p) => `${p.variable}: ${p.expected}`);
    // No message ever carries a secret's value.
    const secrets = [...Object.values(overrides), ...Object.values(SAFE)]
      .flatMap((v) => [v, ...v.split(/[,:]/)])
      .filter((v) => v.length >= 16);
    for (const secret of secrets) for (const p of problems) expect(p).not.toContain(secret);
    return problems;
  }
}

describe('production configuration checks', () => {
  it('accepts a safe production configuration', () => {
    expect(problemsWith({})).toEqual([]);
  });

  it.each([
    [
      'a webhook key of 1 byte (whsec_A)',
      { WEBHOOK_SECRET: 'whsec_QQ==' },
      /^WEBHOOK_SECRET: .*at least 24 random bytes.*\(1 given/,
    ],
    [
      'a webhook key of 16 bytes',
      { WEBHOOK_SECRET: `whsec_${randomBytes(16).toString('base64')}` },
      /^WEBHOOK_SECRET: .*at least 24/,
    ],
    [
      'a webhook key of 32 repeated bytes',
      { WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 'a').toString('base64')}` },
      /^WEBHOOK_SECRET: .*not random/,
    ],
    [
      'ADMIN_TOKEN equal to an API key',
      { API_KEYS: 'mobile:0f1e2d3c4b5a69788796a5b4c3d2e1f0', ADMIN_TOKEN: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' },
      /^ADMIN_TOKEN: must differ .*key "mobile"/,
    ],
    ['a low-entropy admin token (aaaa…)', { ADMIN_TOKEN: 'a'.repeat(64) }, /^ADMIN_TOKEN: too weak/],
    [
      'a low-entropy API key secret (abab…)',
      { API_KEYS: `mobile:${'ab'.repeat(32)}` },
      /^API_KEYS: the secret of key "mobile" is too weak/,
    ],
    [
      'a made-up API key secret (password1234567890)',
      { API_KEYS: 'mobile:password1234567890' },
      /^API_KEYS: the secret of key "mobile" is too weak/,
    ],
    ['CORS_ORIGINS=*', { CORS_ORIGINS: '*' }, /^CORS_ORIGINS: must list the allowed origins/],
    ['CORS_ORIGINS with * among others', { CORS_ORIGINS: 'https://a.example.test,*' }, /^CORS_ORIGINS:/],
    ['TRUST_PROXY=0.0.0.0/0', { TRUST_PROXY: '0.0.0.0/0' }, /^TRUST_PROXY: must not trust every address/],
    ['TRUST_PROXY=::/0', { TRUST_PROXY: '10.0.0.0/8,::/0' }, /^TRUST_PROXY: must not trust every address/],
    ['TRUST_PROXY=true', { TRUST_PROXY: 'true' }, /^TRUST_PROXY: expected a hop count/],
    [
      'an API_KEYS entry without name:',
      { API_KEYS: hex(16) },
      /^API_KEYS: expected comma-separated name:secret pairs \(every entry named\)/,
    ],
  ])('refuses %s', (_label, overrides, message) => {
    const problems = problemsWith(overrides);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('outside production, accepts what production refuses, except what is refused everywhere', () => {
    expect(
      problemsWith({
        NODE_ENV: 'development',
        ADMIN_TOKEN: 'a'.repeat(32),
        CORS_ORIGINS: '*',
        TRUST_PROXY: '0.0.0.0/0',
        WEBHOOK_SECRET: 'whsec_QQ==',
      }),
    ).toEqual([]);
    // A key without a name (its name would have been the secret minus its last character) and a name outside the charset.
    expect(problemsWith({ NODE_ENV: 'development', API_KEYS: hex(16) })).toHaveLength(1);
    expect(problemsWith({ NODE_ENV: 'development', API_KEYS: `mobile app:${hex(16)}` })).toHaveLength(1);
    expect(problemsWith({ NODE_ENV: 'development', API_KEYS: `{mobile}:${hex(16)}` })).toHaveLength(1);
  });
});

describe('isWeakSecret', () => {
  it('accepts generated secrets: 32 hex digits, 24 bytes of base64, 22 random alphanumerics', () => {
    for (let i = 0; i < 200; i++) {
      expect(isWeakSecret(hex(16))).toBe(false);
      expect(isWeakSecret(randomBytes(24).toString('base64'))).toBe(false);
    }
    expect(isWeakSecret('Zq8vN3xT1pL6rB0wK4sD9m')).toBe(false);
    expect(estimatedBits('0123456789abcdef0123456789abcdef')).toBe(128);
  });

  it('refuses patterns and short made-up secrets', () => {
    for (const secret of ['a'.repeat(64), 'abcabcabcabcabcabcabcabc', 'correcthorse1234', 'Password123!'])
      expect(isWeakSecret(secret), secret).toBe(true);
  });
});
