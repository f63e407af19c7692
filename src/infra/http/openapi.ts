import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  type HeaderObject,
  type OpenAPIObject,
  type ReferenceObject,
  SwaggerModule,
} from '@nestjs/swagger';
import {
  ADMIN_BASIC_SCHEME,
  ADMIN_BEARER_SCHEME,
  API_KEY_SCHEME,
  BEARER_SCHEME,
  problemContent,
  ResponseHeaders,
  UUID_PARAMETER_SCHEMA,
} from './openapi.decorators.js';

/** Headers most responses carry, declared once under components.headers and referenced. */
const SHARED_HEADERS: Record<string, HeaderObject> = {
  'RateLimit-Policy': {
    description: 'IETF RateLimit-Policy: the quota and window that apply, e.g. `"default";q=100;w=60`',
    schema: { type: 'string' },
  },
  RateLimit: {
    description: 'IETF RateLimit: what is left of the quota and when it resets, e.g. `"default";r=99;t=60`',
    schema: { type: 'string' },
  },
  'X-Request-Id': {
    description: 'The request id: the one sent, when it is 1-128 characters of [A-Za-z0-9._:-], else a generated UUID',
    required: true,
    schema: { type: 'string', minLength: 1, maxLength: 128 },
  },
};

const ref = (name: string): ReferenceObject => ({ $ref: `#/components/headers/${name}` });
const REQUEST_ID_HEADER = { 'X-Request-Id': ref('X-Request-Id') };
const RATE_LIMIT_HEADERS = { 'RateLimit-Policy': ref('RateLimit-Policy'), RateLimit: ref('RateLimit') };

const DESCRIPTION = [
  'Users and products over PostgreSQL. Errors are RFC 9457 problem+json.',
  '',
  '**Credentials.** Writes under /v1 need an API key when API_KEYS is set: `Authorization: Bearer <secret>` or ' +
    '`X-API-Key: <secret>`. Routes under /admin need ADMIN_TOKEN: `Authorization: Bearer <ADMIN_TOKEN>` or HTTP Basic ' +
    'with it as the password.',
  '',
  '**Query parameters.** Every operation accepts exactly the query parameters it documents: an unknown one ' +
    '(a cache-buster such as `?_=123` included) is answered 400, on lists and item routes alike.',
  '',
  '**Rate limits.** Every /v1 response, errors and 304 included, carries `RateLimit` and `RateLimit-Policy` ' +
    '(IETF draft); a 429 adds `Retry-After`.',
].join('\n');

/** The tags, in the order the UI lists them. */
const TAGS: Array<[name: string, description: string]> = [
  ['products', 'The product catalogue, with a background bulk import'],
  ['users', 'User accounts; creating one sends a welcome email and a `user.created` webhook'],
  ['jobs', 'Background jobs started by the API (product imports)'],
  ['health', 'Liveness and readiness probes for orchestrators'],
  ['admin', 'Operator routes (ADMIN_TOKEN): webhook dead letters'],
];

/** Builds the OpenAPI document from the controllers and DTOs (the CLI plugin fills in the DTO fields). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Service API')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'This service')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'API key', description: 'An API key secret' },
      BEARER_SCHEME,
    )
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key secret' }, API_KEY_SCHEME)
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN, for routes under /admin' },
      ADMIN_BEARER_SCHEME,
    )
    .addBasicAuth(
      { type: 'http', scheme: 'basic', description: 'Any user name, ADMIN_TOKEN as the password' },
      ADMIN_BASIC_SCHEME,
    );
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build());
  document.components = { ...document.components, headers: { ...document.components?.headers, ...SHARED_HEADERS } };
  decorateOperations(document);
  closeRequestBodies(document);
  return document;
}

/**
 * Request bodies have exactly the documented properties (the validation pipe rejects any other
 * with 400), so their schemas say `additionalProperties: false`.
 */
function closeRequestBodies(document: OpenAPIObject): void {
  const schemas = document.components?.schemas ?? {};
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const body = item[method]?.requestBody;
      if (!body || '$ref' in body) continue;
      for (const media of Object.values(body.content)) {
        const name = media.schema && '$ref' in media.schema ? media.schema.$ref.split('/').pop() : undefined;
        const schema = name ? schemas[name] : undefined;
        if (schema && !('$ref' in schema)) schema.additionalProperties = false;
      }
    }
  }
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * What operations have in common, added once here instead of on each handler: the request id
 * echoed on every response; on /v1 (the throttled routes) the rate-limit headers on every
 * response and the 429; UUID path parameters; and an explicit "no credentials" on public routes.
 */
function decorateOperations(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const versioned = path.startsWith('/v1/');
      // Every `{id}` and `{jobId}` is a UUID (anything else is answered 400 before reaching the database).
      for (const parameter of operation.parameters ?? []) {
        if ('name' in parameter && parameter.in === 'path' && (parameter.name === 'id' || parameter.name === 'jobId')) {
          parameter.schema = { ...UUID_PARAMETER_SCHEMA };
        }
      }
      // Public routes say so, rather than leaving a linter (and a reader) to guess.
      operation.security ??= [];
      for (const response of Object.values(operation.responses)) {
        if (!response || '$ref' in response) continue;
        response.headers = {
          ...REQUEST_ID_HEADER,
          ...(versioned ? RATE_LIMIT_HEADERS : {}),
          ...response.headers,
        };
      }
      // Repeated wrong admin credentials from one address are rate limited too (docs/security.md).
      if ((versioned || path.startsWith('/admin/')) && !operation.responses['429']) {
        operation.responses['429'] = {
          description: versioned
            ? 'Rate limited: wait Retry-After seconds'
            : 'Too many failed admin authentications from this address: wait Retry-After seconds',
          headers: { ...REQUEST_ID_HEADER, ...RATE_LIMIT_HEADERS, 'Retry-After': ResponseHeaders.retryAfter },
          content: problemContent,
        };
      }
      // Every route refuses an unknown or repeated query parameter (query-parameters.ts).
      operation.responses['400'] ??= {
        description: 'An unknown or repeated query parameter, or a malformed request',
        headers: { ...REQUEST_ID_HEADER, ...(versioned ? RATE_LIMIT_HEADERS : {}) },
        content: problemContent,
      };
      // The router refuses a path segment over its length limit before any handler (router-errors.ts).
      if (path.includes('{')) {
        operation.responses['414'] ??= {
          description: 'A path segment is too long',
          headers: { ...REQUEST_ID_HEADER },
          content: problemContent,
        };
      }
      // A dependency (PostgreSQL, or Redis when the cache or limits need it) is unavailable.
      if (versioned) {
        operation.responses['503'] ??= {
          description: 'A dependency is unavailable; retry after Retry-After seconds',
          headers: { ...REQUEST_ID_HEADER, 'Retry-After': ResponseHeaders.retryAfter },
          content: problemContent,
        };
      }
    }
  }
}

/** Serves the UI at `/docs` and the document at `/docs-json`. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    raw: ['json'],
    customSiteTitle: 'Service API',
  });
}
