import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, type TestApp } from '../support/app.js';
import { launchBrowser } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

interface Operation {
  parameters?: Array<{ name: string; in: string; schema?: { format?: string } }>;
  responses: Record<
    string,
    { headers?: Record<string, unknown>; content?: Record<string, { schema: { $ref?: string } }> }
  >;
  security?: Array<Record<string, string[]>>;
}
interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, unknown>;
    securitySchemes: Record<string, { type: string; scheme?: string; name?: string; in?: string }>;
    headers: Record<string, unknown>;
  };
}

const PROBLEM_REF = '#/components/schemas/ProblemDetailsDto';

describe('OpenAPI docs', () => {
  let database: TestDatabase;
  let app: TestApp;
  let browser: Browser;
  let doc: OpenApi;

  beforeAll(async () => {
    database = await createTestDatabase('docs');
    app = await bootTestApp({ DATABASE_URL: database.url, QUEUE_DRIVER: 'memory', CACHE_STORE: 'memory' });
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
