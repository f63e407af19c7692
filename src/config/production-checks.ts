import type { ConfigType } from '@nestjs/config';
import type { authConfig } from './auth.config.js';
import type { EnvProblem } from './env.js';
import type { httpConfig } from './http.config.js';
import type { webhooksConfig } from './webhooks.config.js';

/** What the checks read: the parsed namespaces, so each rule sees exactly what the service uses. */
export interface ProductionCheckInput {
  http: ConfigType<typeof httpConfig>;
  auth: ConfigType<typeof authConfig>;
  webhooks: ConfigType<typeof webhooksConfig>;
}

/** Standard Webhooks secrets are 24–64 random bytes; fewer is guessable offline from one signed delivery. */
export const MIN_WEBHOOK_KEY_BYTES = 24;
/** A secret's estimated strength must reach this (e.g. `openssl rand -hex 16`: 32 hex digits, 128 bits). */
export const MIN_SECRET_BITS = 128;
/** Fewer distinct characters than this is a pattern (`aaaa…`, `abab…`), not a random secret. */
export const MIN_DISTINCT_CHARACTERS = 8;

const HOW_TO_MAKE_ONE = 'e.g. openssl rand -hex 16 or openssl rand -base64 24';

/**
 * The rules `NODE_ENV=production` adds on top of each namespace's schema: configurations that
 * parse but are unsafe to expose. Messages name the variable (and an API key by its name), never
 * a secret's value.
 *
 * ```ts
 * if (http.isProduction) problems.push(...productionProblems({ http, auth, webhooks }));
 * ```
 */
export function productionProblems({ http, auth, webhooks }: ProductionCheckInput): EnvProblem[] {
  const problems: EnvProblem[] = [];
  const problem = (variable: string, expected: string) => problems.push({ variable, expected });

  for (const key of auth.apiKeys) {
    if (isWeakSecret(key.secret))
      problem('API_KEYS', `the secret of key "${key.name}" is too weak in production: ${weakSecretRule()}`);
  }
  if (auth.adminToken !== undefined) {
    if (isWeakSecret(auth.adminToken)) problem('ADMIN_TOKEN', `too weak in production: ${weakSecretRule()}`);
    const same = auth.apiKeys.find((key) => key.secret === auth.adminToken);
    if (same)
      problem(
        'ADMIN_TOKEN',
        `must differ from every API key secret in production (it equals the secret of key "${same.name}")`,
      );
  }

  if (webhooks.secret !== undefined) {
    const key = Buffer.from(webhooks.secret.replace(/^whsec_/, ''), 'base64');
    if (key.length < MIN_WEBHOOK_KEY_BYTES) {
      problem(
        'WEBHOOK_SECRET',
        `the key after whsec_ must be at least ${MIN_WEBHOOK_KEY_BYTES} random bytes in production (${key.length} given; openssl rand -base64 32)`,
      );
    } else if (distinctBytes(key) < MIN_DISTINCT_CHARACTERS) {
      problem(
        'WEBHOOK_SECRET',
        'the key after whsec_ is not random (it repeats a few bytes); use openssl rand -base64 32',
      );
    }
  }

  if (http.corsOrigins.includes('*')) {
    problem(
      'CORS_ORIGINS',
      "must list the allowed origins in production, not * (any site could call the API from its visitors' browsers)",
    );
  }
  if (Array.isArray(http.trustProxy) && http.trustProxy.some(isWholeAddressSpace)) {
    problem(
      'TRUST_PROXY',
      "must not trust every address in production (/0: any client could name itself in X-Forwarded-For); list the proxies' CIDRs",
    );
  }
  return problems;
}

/**
 * True for a secret a person made up rather than a generator: fewer than 8 distinct characters,
 * or under 128 bits estimated as length × log2(the alphabet its character classes span).
 */
export function isWeakSecret(secret: string): boolean {
  return new Set(secret).size < MIN_DISTINCT_CHARACTERS || estimatedBits(secret) < MIN_SECRET_BITS;
}

export function estimatedBits(secret: string): number {
  let alphabet = 0;
  if (/^[0-9a-f]+$/.test(secret) || /^[0-9A-F]+$/.test(secret)) {
    alphabet = 16;
  } else {
    if (/[a-z]/.test(secret)) alphabet += 26;
    if (/[A-Z]/.test(secret)) alphabet += 26;
    if (/[0-9]/.test(secret)) alphabet += 10;
    if (/[^A-Za-z0-9]/.test(secret)) alphabet += 32;
  }
  return secret.length * Math.log2(Math.max(alphabet, 2));
}

function weakSecretRule(): string {
  return `at least ${MIN_SECRET_BITS} bits of randomness and ${MIN_DISTINCT_CHARACTERS} distinct characters (${HOW_TO_MAKE_ONE})`;
}

function distinctBytes(bytes: Buffer): number {
  return new Set(bytes).size;
}

/** `0.0.0.0/0`, `::/0` (any prefix length 0): every address. */
function isWholeAddressSpace(entry: string): boolean {
  return /\/0+$/.test(entry);
}
