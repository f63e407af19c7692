import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { authConfig } from '../../config/index.js';
import { bearerTokenOf, secretDigest } from './credentials.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the API key the request authenticated with, if any. */
    apiKeyName?: string;
  }
}

/**
 * The configured API keys (`API_KEYS`), and who a request is: the name of the key it presents,
 * if valid. Used by `ApiKeyGuard` and by the cached-read fast path, which identifies the caller
 * the same way before the guard would run. Secrets are compared as SHA-256 digests in constant
 * time, against every key without an early exit, so timing reveals neither a secret nor which
 * key matched.
 */
@Injectable()
export class ApiKeys {
  private readonly keys: Array<{ name: string; digest: Buffer }>;

  constructor(@Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>) {
    this.keys = auth.apiKeys.map((key) => ({ name: key.name, digest: secretDigest(key.secret) }));
  }

  /** No key configured: writes are open. */
  get none(): boolean {
    return this.keys.length === 0;
  }

  /** Sets `request.apiKeyName` when the request presents a valid key. */
  identify(request: FastifyRequest): void {
    const presented = presentedSecret(request);
    if (presented !== undefined) request.apiKeyName = this.match(presented);
  }

  private match(secret: string): string | undefined {
    const presented = secretDigest(secret);
    let name: string | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(presented, key.digest)) name ??= key.name;
    }
    return name;
  }
}

export function presentedSecret(request: FastifyRequest): string | undefined {
  const bearer = bearerTokenOf(request.headers.authorization);
  if (bearer !== undefined) return bearer;
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.length > 0 ? apiKey : undefined;
}
