import { timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authConfig } from '../../config/index.js';
import { isApiPath, ProblemException, WRITE_METHODS } from '../http/index.js';
import { type AuthRefusal, AuthFailureLimiter } from './auth-failure-limiter.js';
import { bearerTokenOf, secretDigest } from './credentials.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the API key the request authenticated with, if any. */
    apiKeyName?: string;
  }
}

/**
 * When `API_KEYS` is set, every write under /v1 needs `Authorization: Bearer <secret>` or
 * `X-API-Key: <secret>`. Secrets are compared as SHA-256 digests in constant time, against every
 * key without an early exit, so timing reveals neither a secret nor which key matched. Wrong keys
 * are counted per client IP (`AuthFailureLimiter`): past `AUTH_FAILURE_LIMIT` the IP gets `429`
 * before its key is compared at all.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate, OnModuleInit {
  private readonly logger = new Logger(ApiKeyGuard.name);
  private readonly keys: Array<{ name: string; digest: Buffer }>;

  constructor(
    @Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>,
    private readonly failures: AuthFailureLimiter,
  ) {
    this.keys = auth.apiKeys.map((key) => ({ name: key.name, digest: secretDigest(key.secret) }));
  }

  onModuleInit(): void {
    if (this.keys.length === 0) this.logger.warn('API_KEYS is unset: writes under /v1 are open to anyone');
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    // Reads (and everything when no keys are configured) stay synchronous: no store call.
    if (
      this.keys.length === 0 ||
      !WRITE_METHODS.has(request.method) ||
      !isApiPath(request.routeOptions.url ?? request.url)
    ) {
      this.identify(request);
      return true;
    }
    return this.authenticateWrite(context, request);
  }

  private async authenticateWrite(context: ExecutionContext, request: FastifyRequest): Promise<boolean> {
    if (presentedSecret(request) === undefined) {
      throw new ProblemException(401, 'This write needs an API key', {
        headers: { 'www-authenticate': 'Bearer realm="api"' },
      });
    }
    // An address out of failures is refused before its key is compared: guessing learns nothing.
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    refuseWith(await this.failures.refusalBeforeCheck(request, reply));
    this.identify(request);
    if (request.apiKeyName !== undefined) return true;
    refuseWith(await this.failures.recordFailure(request, reply));
    throw new ProblemException(401, 'The API key is not valid', {
      headers: { 'www-authenticate': 'Bearer realm="api"' },
    });
  }

  /** Sets `request.apiKeyName` when the request presents a valid key; returns the presented secret, if any. */
  identify(request: FastifyRequest): string | undefined {
    const presented = presentedSecret(request);
    if (presented !== undefined) request.apiKeyName = this.match(presented);
    return presented;
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

function refuseWith(refusal: AuthRefusal | undefined): void {
  if (refusal !== undefined) throw new ProblemException(refusal.status, refusal.detail, { headers: refusal.headers });
}

function presentedSecret(request: FastifyRequest): string | undefined {
  const bearer = bearerTokenOf(request.headers.authorization);
  if (bearer !== undefined) return bearer;
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.length > 0 ? apiKey : undefined;
}
