import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import { ApiProblemResponses, problemContent, ResponseHeaders } from '../http/index.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

/**
 * A write that honours `Idempotency-Key` (docs/idempotency.md): a retry with the same key and
 * request replays the first 2xx answer instead of writing again. Put it on every POST, PATCH and
 * DELETE under /v1 (test/e2e/idempotency-openapi.e2e-spec.ts checks that none lacks it).
 *
 * ```ts
 * @Post()
 * @Idempotent()
 * create(@Body() body: CreateProductDto) {}
 * ```
 */
export function Idempotent(): MethodDecorator {
  return applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes a retry safe: 1–255 visible ASCII characters (bare or as a Structured Field string), unique per intended write. A repeat with the same key and the same request replays the stored answer with `Idempotent-Replayed: true`; within IDEMPOTENCY_TTL_SECONDS.',
      schema: { type: 'string', minLength: 1, maxLength: 257 },
    }),
    // 409 is also the route's own conflict (a duplicate unique field): one description for both.
    ApiResponse({
      status: 409,
      description:
        'Conflicts with stored state (e.g. a duplicate unique field), or a request with the same Idempotency-Key is still being processed (then with Retry-After)',
      content: problemContent,
      headers: { 'Retry-After': ResponseHeaders.retryAfter },
    }),
    ApiProblemResponses(422),
  );
}
