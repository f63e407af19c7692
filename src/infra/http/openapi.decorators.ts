import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiHeader, ApiResponse, ApiSecurity, getSchemaPath, type HeaderObject } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import { FieldErrorDto, ProblemDetailsDto } from './problem-details.dto.js';

/** Names of the security schemes declared in the OpenAPI document (see openapi.ts). */
export const BEARER_SCHEME = 'bearer';
export const API_KEY_SCHEME = 'api-key';

/** Response headers, documented once and reused by every operation that sends them. */
export const ResponseHeaders = {
  etag: { description: 'Strong validator of the returned version, e.g. "3"', schema: { type: 'string' } },
  location: { description: 'URL of the created resource', schema: { type: 'string' } },
  cacheStatus: {
    description: 'RFC 9211: contains `hit` when served from the cache, `fwd=miss` when read from the database',
    schema: { type: 'string' },
  },
  retryAfter: { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
  wwwAuthenticate: { description: 'The authentication scheme to use', schema: { type: 'string' } },
} satisfies Record<string, HeaderObject>;

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input: malformed JSON, unknown or read-only properties, bad types or ranges, non-UUID id',
  401: 'A write without a valid API key (when API_KEYS is set)',
  403: 'The credentials are valid but not allowed here',
  404: 'No such resource',
  409: 'Conflicts with stored state, e.g. a duplicate unique field',
  412: 'If-Match does not match the current ETag',
  413: 'The request body is larger than 1 MiB',
  415: 'The request body is not application/json',
  422: 'Well-formed but cannot be processed',
  429: 'Rate limited',
  503: 'A dependency is unavailable; retry later',
};

const HEADERS: Record<number, Record<string, HeaderObject>> = {
  401: { 'WWW-Authenticate': ResponseHeaders.wwwAuthenticate },
  429: { 'Retry-After': ResponseHeaders.retryAfter },
  503: { 'Retry-After': ResponseHeaders.retryAfter },
};

/** The `application/problem+json` content of an error response, for hand-built responses. */
export const problemContent = {
  [PROBLEM_CONTENT_TYPE.split(';')[0]!]: { schema: { $ref: getSchemaPath(ProblemDetailsDto) } },
};

/**
 * Documents the error statuses an operation can answer, each as RFC 9457 problem+json.
 *
 * ```ts
 * @Patch(':id')
 * @ApiProblemResponses(400, 404, 409, 412)
 * update(...) {}
 * ```
 */
export function ApiProblemResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemDetailsDto, FieldErrorDto),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        content: problemContent,
        ...(HEADERS[status] ? { headers: HEADERS[status] } : {}),
      }),
    ),
  );
}

/** A write that needs an API key when API_KEYS is set: Bearer or X-API-Key, else 401. */
export function ApiKeyProtected(): MethodDecorator & ClassDecorator {
  return applyDecorators(ApiBearerAuth(BEARER_SCHEME), ApiSecurity(API_KEY_SCHEME), ApiProblemResponses(401));
}

/** `If-Match` on a conditional write (PATCH, DELETE). */
export function ApiIfMatch(): MethodDecorator {
  return ApiHeader({
    name: 'If-Match',
    required: false,
    description: 'Apply only if the resource still has this ETag (strong comparison); otherwise 412',
  });
}

/** `If-None-Match` on a conditional read. */
export function ApiIfNoneMatch(): MethodDecorator {
  return ApiHeader({
    name: 'If-None-Match',
    required: false,
    description: 'Answer 304 with no body when the resource still has this ETag (weak comparison)',
  });
}
