import { type CanActivate, type ExecutionContext, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isApiPath, ProblemException, WRITE_METHODS } from '../http/index.js';
import { ApiKeys, presentedSecret } from './api-keys.js';
import { type AuthRefusal, AuthFailureLimiter } from './auth-failure-limiter.js';

/**
 * When `API_KEYS` is set, every write under /v1 needs `Authorization: Bearer <secret>` or
 * `X-API-Key: <secret>`, checked by `ApiKeys` (constant-time digests). Wrong keys
 * are counted per client IP (`AuthFailureLimiter`): past `AUTH_FAILURE_LIMIT` the IP gets `429`
 * before its key is compared at all.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate, OnModuleInit {
  private readonly logger = new Logger(ApiKeyGuard.name);

  constructor(
    private readonly keys: ApiKeys,
    private readonly failures: AuthFailureLimiter,
  ) {}

  onModuleInit(): void {
    if (this.keys.none) this.logger.warn('API_KEYS is unset: writes under /v1 are open to anyone');
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    // Reads (and everything when no keys are configured) stay synchronous: no store call.
    if (this.keys.none || !WRITE_METHODS.has(request.method) || !isApiPath(request.routeOptions.url ?? request.url)) {
      this.keys.identify(request);
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
    this.keys.identify(request);
    if (request.apiKeyName !== undefined) return true;
    refuseWith(await this.failures.recordFailure(request, reply));
    throw new ProblemException(401, 'The API key is not valid', {
      headers: { 'www-authenticate': 'Bearer realm="api"' },
    });
  }
}

function refuseWith(refusal: AuthRefusal | undefined): void {
  if (refusal !== undefined) throw new ProblemException(refusal.status, refusal.detail, { headers: refusal.headers });
}
