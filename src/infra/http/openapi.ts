import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type HeaderObject, type OpenAPIObject, type ReferenceObject, SwaggerModule } from '@nestjs/swagger';
import { API_KEY_SCHEME, BEARER_SCHEME, problemContent, ResponseHeaders } from './openapi.decorators.js';

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
    schema: { type: 'string' },
  },
};

const ref = (name: string): ReferenceObject => ({ $ref: `#/components/headers/${name}` });
const REQUEST_ID_HEADER = { 'X-Request-Id': ref('X-Request-Id') };
const RATE_LIMIT_HEADERS = { 'RateLimit-Policy': ref('RateLimit-Policy'), RateLimit: ref('RateLimit') };

/** Builds the OpenAPI document from the controllers and DTOs (the CLI plugin fills in the DTO fields). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Service API')
    .setDescription(
      'Users and products over PostgreSQL. Errors are RFC 9457 problem+json. Writes under /v1 need an API key ' +
        'when API_KEYS is set: `Authorization: Bearer <secret>` or `X-API-Key: <secret>`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'API key', description: 'An API key secret' }, BEARER_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key secret' }, API_KEY_SCHEME)
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components = { ...document.components, headers: { ...document.components?.headers, ...SHARED_HEADERS } };
  decorateVersionedOperations(document);
  return document;
}

/**
 * What every /v1 operation has in common, added once here instead of on each handler: the
 * rate-limit headers and its 429, and the request id echoed on every response.
 */
function decorateVersionedOperations(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (!operation) continue;
      const versioned = path.startsWith('/v1/');
      // Every `{id}` in a path is a UUID (anything else is answered 400 before reaching the database).
      for (const parameter of operation.parameters ?? []) {
        if ('name' in parameter && parameter.in === 'path' && parameter.name === 'id') {
          parameter.schema = { type: 'string', format: 'uuid' };
        }
      }
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!response || '$ref' in response) continue;
        response.headers = {
          ...REQUEST_ID_HEADER,
          ...(versioned && /^[23]/.test(status) ? RATE_LIMIT_HEADERS : {}),
          ...response.headers,
        };
      }
      if (versioned && !operation.responses['429']) {
        operation.responses['429'] = {
          description: 'Rate limited: wait Retry-After seconds',
          headers: { ...REQUEST_ID_HEADER, ...RATE_LIMIT_HEADERS, 'Retry-After': ResponseHeaders.retryAfter },
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
