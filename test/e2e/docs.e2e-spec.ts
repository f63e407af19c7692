import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, type TestApp } from '../support/app.js';
import { launchBrowser } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

interface Operation {
  parameters?: Array<{ name: string; in: string; schema?: { format?: string; pattern?: string } }>;
  responses: Record<
    string,
    { description?: string; headers?: Record<string, unknown>; content?: Record<string, { schema: { $ref?: string } }> }
  >;
  security?: Array<Record<string, string[]>>;
}
interface OpenApi {
  openapi: string;
  info: { description: string; license?: { name: string } };
  servers?: Array<{ url: string }>;
  tags?: Array<{ name: string; description?: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, Schema>;
    securitySchemes: Record<string, { type: string; scheme?: string; name?: string; in?: string }>;
    headers: Record<string, unknown>;
  };
}

interface Schema {
  additionalProperties?: boolean;
  properties?: Record<string, Schema & { readOnly?: boolean; type?: string; default?: unknown }>;
  items?: Schema & { type?: string };
  minItems?: number;
  maxItems?: number;
}

const PROBLEM_REF = '#/components/schemas/ProblemDetailsDto';
const ADMIN_TOKEN = 'docs-admin-token-0123456789abcdefghij';

describe('OpenAPI docs', () => {
  let database: TestDatabase;
  let app: TestApp;
  let browser: Browser;
  let doc: OpenApi;

  beforeAll(async () => {
    database = await createTestDatabase('docs');
    app = await bootTestApp({ DATABASE_URL: database.url, QUEUE_DRIVER: 'memory', CACHE_STORE: 'memory', ADMIN_TOKEN });
    browser = await launchBrowser();
    const response = await app.request('/docs-json');
    expect(response.status).toBe(200);
    doc = (await response.json()) as OpenApi;
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await database?.drop();
  });

  it('documents every resource route with its status codes as problem+json', () => {
    expect(doc.openapi).toMatch(/^3\./);
    const expected: Record<string, Record<string, string[]>> = {
      '/v1/products': { post: ['201', '400', '401', '409', '429'], get: ['200', '400', '429'] },
      '/v1/products/{id}': {
        get: ['200', '304', '400', '404', '429'],
        patch: ['200', '400', '401', '404', '409', '412', '429'],
        delete: ['204', '400', '401', '404', '412', '429'],
      },
      '/v1/users': { post: ['201', '400', '401', '409', '429'], get: ['200', '400', '429'] },
      '/v1/users/{id}': {
        get: ['200', '304', '400', '404', '429'],
        patch: ['200', '400', '401', '404', '409', '412', '429'],
        delete: ['204', '400', '401', '404', '412', '429'],
      },
      '/health/ready': { get: ['200', '503'] },
    };
    for (const [path, methods] of Object.entries(expected)) {
      for (const [method, statuses] of Object.entries(methods)) {
        const operation = doc.paths[path]?.[method];
        expect(operation, `${method} ${path}`).toBeDefined();
        expect(Object.keys(operation!.responses)).toEqual(expect.arrayContaining(statuses));
        for (const status of statuses.filter((s) => Number(s) >= 400)) {
          expect(
            operation!.responses[status]!.content?.['application/problem+json']?.schema.$ref,
            `${method} ${path} ${status}`,
          ).toBe(PROBLEM_REF);
        }
      }
    }
    expect(doc.components.schemas.ProblemDetailsDto).toMatchObject({
      required: expect.arrayContaining(['type', 'title', 'status', 'detail', 'instance']),
    });
    // /metrics is for Prometheus, not for API clients.
    expect(doc.paths['/metrics']).toBeUndefined();
  });

  it('documents the API key schemes on writes and the headers', () => {
    expect(doc.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
      'api-key': { type: 'apiKey', in: 'header', name: 'X-API-Key' },
    });
    const write = doc.paths['/v1/products/{id}']!.patch!;
    expect(write.security).toEqual(expect.arrayContaining([{ bearer: [] }, { 'api-key': [] }]));
    expect(write.parameters?.map((p) => p.name)).toContain('If-Match');
    expect(write.parameters?.find((p) => p.name === 'id')?.schema?.format).toBe('uuid');
    // A public read says it needs no credentials.
    expect(doc.paths['/v1/products/{id}']!.get!.security).toEqual([]);

    const read = doc.paths['/v1/products/{id}']!.get!;
    expect(read.parameters?.map((p) => p.name)).toContain('If-None-Match');
    expect(Object.keys(read.responses['200']!.headers!)).toEqual(
      expect.arrayContaining(['ETag', 'Cache-Status', 'RateLimit', 'RateLimit-Policy', 'X-Request-Id']),
    );
    expect(Object.keys(doc.paths['/v1/users']!.post!.responses['201']!.headers!)).toEqual(
      expect.arrayContaining(['Location', 'ETag']),
    );
    expect(Object.keys(doc.paths['/v1/users']!.post!.responses['429']!.headers!)).toContain('Retry-After');
    expect(Object.keys(doc.components.headers)).toEqual(
      expect.arrayContaining(['RateLimit', 'RateLimit-Policy', 'X-Request-Id']),
    );
  });

  it('documents admin auth as security schemes with the admin answers, not as a header parameter', () => {
    expect(doc.components.securitySchemes).toMatchObject({
      'admin-bearer': { type: 'http', scheme: 'bearer' },
      'admin-basic': { type: 'http', scheme: 'basic' },
    });
    const admin = Object.entries(doc.paths).filter(([path]) => path.startsWith('/admin/'));
    expect(admin.length).toBeGreaterThanOrEqual(2);
    for (const [path, item] of admin) {
      for (const [method, operation] of Object.entries(item)) {
        expect(operation.security, `${method} ${path}`).toEqual(
          expect.arrayContaining([{ 'admin-bearer': [] }, { 'admin-basic': [] }]),
        );
        expect(
          operation.parameters?.some((p) => p.in === 'header' && p.name.toLowerCase() === 'authorization') ?? false,
        ).toBe(false);
        expect(operation.responses['401']!.description).toContain('ADMIN_TOKEN');
        expect(operation.responses['403']!.description).toContain('ADMIN_TOKEN');
        expect(operation.responses['401']!.description).not.toContain('API key');
      }
    }
  });

  it('documents GET /v1/jobs/{jobId} with its errors and a UUID jobId', () => {
    const job = doc.paths['/v1/jobs/{jobId}']!.get!;
    expect(Object.keys(job.responses)).toEqual(expect.arrayContaining(['200', '400', '404', '429', '503']));
    const jobId = job.parameters?.find((p) => p.name === 'jobId');
    expect(jobId?.schema?.format).toBe('uuid');
    expect(new RegExp(jobId?.schema?.pattern ?? '$^').test('0F8FAD5B-D9CB-469F-A165-70867728950E')).toBe(true);
    expect(new RegExp(jobId?.schema?.pattern ?? '$^').test('not-a-uuid')).toBe(false);
  });

  it('closes request bodies, marks read-only fields and documents import items as any object', () => {
    const schemas = doc.components.schemas;
    for (const name of [
      'CreateProductDto',
      'UpdateProductDto',
      'CreateUserDto',
      'UpdateUserDto',
      'ImportProductsDto',
    ]) {
      expect(schemas[name]!.additionalProperties, name).toBe(false);
    }
    for (const name of ['ProductResponseDto', 'UserResponseDto']) {
      for (const field of ['id', 'version', 'createdAt', 'updatedAt'])
        expect(schemas[name]!.properties![field]!.readOnly, `${name}.${field}`).toBe(true);
    }
    const items = schemas.ImportProductsDto!.properties!.items!;
    expect(items).toMatchObject({ type: 'array', minItems: 1, maxItems: 10_000, items: { type: 'object' } });
    expect(items.items!.additionalProperties).not.toBe(false);
    expect(JSON.stringify(items.items)).not.toContain('$ref');
  });

  it('documents the rate-limit, request-id and cache headers on every response that carries them', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          const headers = Object.keys(response.headers ?? {});
          expect(headers, `${method} ${path} ${status}`).toContain('X-Request-Id');
          // 414 (the router) and 503 (a dependency down) can be answered before any limit is decided.
          if (path.startsWith('/v1/') && status !== '414' && status !== '503')
            expect(headers, `${method} ${path} ${status}`).toEqual(
              expect.arrayContaining(['RateLimit', 'RateLimit-Policy']),
            );
          if (status === '429') expect(headers).toContain('Retry-After');
          if (status === '201' || status === '202') {
            if (path !== '/admin/dead-letters/{id}/replay')
              expect(headers, `${method} ${path} ${status}`).toContain('Location');
          }
        }
      }
    }
    for (const path of ['/v1/products', '/v1/products/{id}', '/v1/users', '/v1/users/{id}']) {
      for (const status of ['200', '304']) {
        expect(Object.keys(doc.paths[path]!.get!.responses[status]!.headers!), `GET ${path} ${status}`).toEqual(
          expect.arrayContaining(['ETag', 'Cache-Status']),
        );
      }
    }
  });

  it('states the one rule for unknown query parameters, and the document basics', () => {
    expect(doc.info.description).toMatch(/unknown one[\s\S]*400[\s\S]*lists and item routes alike/);
    expect(doc.info.license?.name).toBe('MIT');
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(doc.tags?.map((tag) => tag.name)).toEqual(
      expect.arrayContaining(['products', 'users', 'jobs', 'health', 'admin']),
    );
    expect(doc.tags?.every((tag) => (tag.description ?? '').length > 0)).toBe(true);
  });

  it('pre-fills Swagger UI\'s PATCH "Try it out" with one field, and sends the admin bearer token after "Authorize"', async () => {
    const page = await browser.newPage();
    await page.goto(`${app.baseUrl}/docs`);
    const patch = page
      .locator('.opblock-patch')
      .filter({ has: page.locator('.opblock-summary-path[data-path="/v1/products/{id}"]') });
    await patch.locator('.opblock-summary').click();
    await patch.locator('.try-out__btn').click();
    const body = JSON.parse(await patch.locator('textarea.body-param__text').inputValue()) as Record<string, unknown>;
    expect(body).toEqual({ stock: 5 });

    await page.locator('.btn.authorize').first().click();
    const modal = page.locator('.modal-ux');
    const bearer = modal.locator('.auth-container').filter({ hasText: 'admin-bearer' });
    await bearer.locator('input').fill(ADMIN_TOKEN);
    await bearer.locator('button.authorize').click();
    await modal.locator('button.close-modal').click();

    const list = page
      .locator('.opblock-get')
      .filter({ has: page.locator('.opblock-summary-path[data-path="/admin/dead-letters"]') });
    await list.locator('.opblock-summary').click();
    await list.locator('.try-out__btn').click();
    const answered = page.waitForResponse((response) => new URL(response.url()).pathname === '/admin/dead-letters');
    await list.locator('.execute').click();
    const response = await answered;
    expect(response.request().headers().authorization).toBe(`Bearer ${ADMIN_TOKEN}`);
    expect(response.status()).toBe(200);
    await page.close();
  });

  it('renders /docs in a browser with the products and users operations', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    const response = await page.goto(`${app.baseUrl}/docs`);
    expect(response?.status()).toBe(200);
    await page.locator('.opblock').first().waitFor({ state: 'visible' });
    const operations = await page.locator('.opblock-summary-path').allInnerTexts();
    const paths = operations.map((text) => text.replace(/\u200b/g, '').trim());
    expect(paths).toEqual(expect.arrayContaining(['/v1/products', '/v1/products/{id}', '/v1/users', '/v1/users/{id}']));
    const methods = await page.locator('.opblock-summary-method').allInnerTexts();
    expect(methods).toEqual(expect.arrayContaining(['GET', 'POST', 'PATCH', 'DELETE']));
    // The content security policy lets Swagger UI run: nothing was blocked.
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('HTTP edge: security headers and CORS', () => {
  let database: TestDatabase;
  let closed: TestApp;
  let open: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase('edge');
    const env = { DATABASE_URL: database.url, QUEUE_DRIVER: 'memory', CACHE_STORE: 'memory' };
    closed = await bootTestApp(env);
    open = await bootTestApp({ ...env, CORS_ORIGINS: 'https://app.example.com, https://admin.example.com' });
  });

  afterAll(async () => {
    await closed?.close();
    await open?.close();
    await database?.drop();
  });

  it('sends the helmet security headers', async () => {
    const response = await closed.request('/v1/products');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  });

  it('allows no cross-origin caller when CORS_ORIGINS is unset', async () => {
    const preflight = await closed.request('/v1/products', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const read = await closed.request('/v1/products', { headers: { origin: 'https://app.example.com' } });
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows exactly the listed origins and exposes the API headers to them', async () => {
    const preflight = await open.request('/v1/products', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'if-match, content-type, x-api-key',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PATCH');

    const read = await open.request('/v1/products', { headers: { origin: 'https://admin.example.com' } });
    expect(read.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    expect(read.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('etag');

    const stranger = await open.request('/v1/products', { headers: { origin: 'https://evil.example.net' } });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });
});
