import { applyDecorators, type Type } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiExtraModels,
  ApiHeader,
  ApiNotModifiedResponse,
  ApiOkResponse,
  ApiResponse,
  ApiSecurity,
  getSchemaPath,
  type HeaderObject,
} from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import { FieldErrorDto, ProblemDetailsDto } from './problem-details.dto.js';

/** Names of the security schemes declared in the OpenAPI document (see openapi.ts). */
export const BEARER_SCHEME = 'bearer';
export const API_KEY_SCHEME = 'api-key';
/** `Authorization: Bearer <ADMIN_TOKEN>` (or HTTP Basic with ADMIN_TOKEN as the password) on /admin. */
export const ADMIN_BEARER_SCHEME = 'admin-bearer';
export const ADMIN_BASIC_SCHEME = 'admin-basic';

/** The UUIDs ParseUuidPipe accepts (any version, either case): the schema of every UUID path parameter. */
export const UUID_PARAMETER_SCHEMA = {
  type: 'string',
  format: 'uuid',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
} as const;

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
  400: 'Invalid input: malformed JSON, unknown or read-only properties, bad types or ranges, non-UUID id, unknown query parameter',
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

/** The admin guard's answers (`installAdminGuard`), which differ from the API-key ones. */
const ADMIN_DESCRIPTIONS: Record<401 | 403 | 404, string> = {
  401: 'No admin credential: send `Authorization: Bearer <ADMIN_TOKEN>` (or HTTP Basic with ADMIN_TOKEN as the password)',
  403: 'The admin credential is not ADMIN_TOKEN',
  404: 'The resource does not exist, or admin is off (ADMIN_TOKEN unset)',
};

/** An operator route under /admin: ADMIN_TOKEN as a bearer token or a Basic password, else 401/403 (404 when unset). */
export function ApiAdminProtected(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemDetailsDto, FieldErrorDto),
    ApiBearerAuth(ADMIN_BEARER_SCHEME),
    ApiSecurity(ADMIN_BASIC_SCHEME),
    ...([401, 403, 404] as const).map((status) =>
      ApiResponse({
        status,
        description: ADMIN_DESCRIPTIONS[status],
        content: problemContent,
        ...(HEADERS[status] ? { headers: HEADERS[status] } : {}),
      }),
    ),
  );
}

/**
 * A read served through the cache (item or list page): 200 with `ETag` and `Cache-Status`, 304 on a
 * matching `If-None-Match`, with the same validators.
 */
export function ApiCachedRead(type: Type<unknown>): MethodDecorator {
  const validators = { ETag: ResponseHeaders.etag, 'Cache-Status': ResponseHeaders.cacheStatus };
  return applyDecorators(
    ApiIfNoneMatch(),
    ApiOkResponse({ type, headers: validators }),
    ApiNotModifiedResponse({ description: 'If-None-Match matched the current ETag; no body', headers: validators }),
  );
}

/**
 * A PATCH body: any subset of the fields, with an example that sets one field only, so that
 * Swagger UI's "Try it out" does not pre-fill (and overwrite) every other field.
 */
export function ApiPatchBody(type: Type<unknown>, example: Record<string, unknown>): MethodDecorator {
  return ApiBody({
    type,
    examples: { oneField: { summary: 'Change one field; the others keep their stored values', value: example } },
  });
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
