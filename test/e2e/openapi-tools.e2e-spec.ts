import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, type TestApp } from '../support/app.js';
import { checkResponseAgainstDocument } from '../support/openapi-recorder.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ADMIN_TOKEN = 'typed-client-admin-token-0123456789abcdef';
const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
const FLOWS_SOURCE = resolve(import.meta.dirname, 'typed-client/readme-flows.mts');

/** Every schema object in the document, with where it is, for assertions over all of them. */
function* schemasOf(value: unknown, path = '$'): Generator<[string, Record<string, unknown>]> {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) yield* schemasOf(item, `${path}[${index}]`);
  } else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.type === 'string' || '$ref' in record) yield [path, record];
    for (const [key, member] of Object.entries(record)) yield* schemasOf(member, `${path}.${key}`);
  }
}

describe('the OpenAPI document, checked by outside tools', () => {
  let database: TestDatabase;
  let app: TestApp;
  let document: Record<string, unknown> & {
    components: { schemas: Record<string, { properties?: Record<string, Record<string, unknown>> }> };
  };
  let workDir: string;

  beforeAll(async () => {
    database = await createTestDatabase('openapi_tools');
    app = await bootTestApp({ DATABASE_URL: database.url, QUEUE_DRIVER: 'memory', CACHE_STORE: 'memory', ADMIN_TOKEN });
    document = (await (await app.request('/docs-json')).json()) as typeof document;
    workDir = mkdtempSync(join(tmpdir(), 'typed-client-'));
    // The program imports openapi-fetch: resolve it from the project's node_modules.
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(workDir, 'node_modules'), 'dir');
  });

  afterAll(async () => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    await app?.close();
    await database?.drop();
  });

  it('generates a typed client that compiles the README flows and runs them with the documented statuses', async () => {
    const schema = astToString(await openapiTS(document as never));
    writeFileSync(join(workDir, 'schema.d.ts'), schema);
    const flows = join(workDir, 'readme-flows.mts');
    copyFileSync(FLOWS_SOURCE, flows);

    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
      skipLibCheck: true,
    };
    const program = ts.createProgram([flows], options);
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);

    const js = ts.transpileModule(ts.sys.readFile(flows)!, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(workDir, 'readme-flows.mjs'), js.outputText);
    const { runReadmeFlows } = (await import(pathToFileURL(join(workDir, 'readme-flows.mjs')).href)) as {
      runReadmeFlows: (baseUrl: string, adminToken: string, unique: string) => Promise<string[]>;
    };
    const log = await runReadmeFlows(app.baseUrl, ADMIN_TOKEN, randomUUID().slice(0, 8));
    expect(log).toEqual([
      'create-product 201',
      'defaults stock=0 active=true',
      'get-product 200',
      'patch-product 200 stock=5 version=2',
      'patch-stale 412 412',
      'list-products 200 true',
      'import 202 location=true',
      'get-job 200 completed progress=100',
      'get-job-unknown 404 404',
      'get-job-bad 400 400',
      'create-user 201',
      'get-user 200',
      'patch-user 200 Renamed',
      'delete-user 204',
      'get-user-gone 404 404',
      'dead-letters 200 true',
      'dead-letters-anonymous 401 401',
    ]);
  });

  it('has no defaults in any schema, and types every number as an integer', () => {
    const defaults = [...schemasOf(document.components)]
      .filter(([, schema]) => 'default' in schema)
      .map(([path]) => path);
    expect(defaults).toEqual([]);
    const paths = document.paths as Record<string, unknown>;
    const numbers = [...schemasOf({ components: document.components, paths })]
      .filter(([, s]) => s.type === 'number')
      .map(([path]) => path);
    expect(numbers).toEqual([]);
    for (const name of ['priceCents', 'stock', 'version']) {
      expect(document.components.schemas.ProductResponseDto!.properties![name]!.type, name).toBe('integer');
    }
    expect(document.components.schemas.UpdateProductDto!.properties!.stock!.type).toBe('integer');
    expect(document.components.schemas.JobStatusDto!.properties!.progress!.type).toBe('integer');
    expect(document.components.schemas.JobStatusDto!.properties!.attempts!.type).toBe('integer');
  });

  it('refuses, in every suite, a response the document does not describe', async () => {
    // TestApp.request runs this check on every response (close() reports); here it is fed responses the app never sends.
    const check = (path: string, response: Response, method = 'GET') =>
      checkResponseAgainstDocument(app.baseUrl, method, path, response);
    const problem = { 'content-type': 'application/problem+json', 'x-request-id': 'r1' };
    await expect(check('/v1/products', new Response('{}', { status: 418, headers: problem }))).rejects.toThrow(
      /status not documented/,
    );
    await expect(
      check(
        `/v1/products/${randomUUID()}`,
        new Response('{"id":1}', {
          status: 200,
          headers: { 'content-type': 'application/json', 'x-request-id': 'r1' },
        }),
      ),
    ).rejects.toThrow(/body/);
    await expect(
      check('/v1/jobs/x', new Response('{}', { status: 404, headers: { 'content-type': 'application/problem+json' } })),
    ).rejects.toThrow(/X-Request-Id missing/);
    await expect(
      check(
        '/v1/users',
        new Response('<p>', { status: 400, headers: { 'content-type': 'text/html', 'x-request-id': 'r1' } }),
        'POST',
      ),
    ).rejects.toThrow(/text\/html body is not documented/);
    // Paths and methods the document does not describe are not its business.
    await expect(check('/metrics', new Response('x', { status: 200 }))).resolves.toBeUndefined();
  });

  it('passes Redocly lint with the recommended rules and no errors', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: '/openapi.json', config });
    const describe = (p: (typeof problems)[number]) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? ''}`;
    const errors = problems.filter((p) => p.severity === 'error').map(describe);
    expect(errors).toEqual([]);
    const warnings = problems.filter((p) => p.severity === 'warn').map(describe);
    if (warnings.length > 0) console.info(`Redocly warnings:\n${warnings.join('\n')}`);
  });

  it('serves /metrics that promtool accepts after traffic of every kind', async () => {
    // The flows above ran writes, reads, 304-able reads, errors, a job and admin calls; add a 304, a miss and a 404 route.
    const created = await app.request('/v1/products', {
      method: 'POST',
      json: { sku: `PROM-${randomUUID().slice(0, 8)}`, name: 'P', priceCents: 1, currency: 'EUR' },
    });
    const etag = created.headers.get('etag')!;
    const { id } = (await created.json()) as { id: string };
    expect((await app.request(`/v1/products/${id}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await app.request('/no/such/route')).status).toBe(404);
    const scrape = await app.request('/metrics');
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    expect(text).toContain('http_request_duration_seconds_count');
    const output = execFileSync('/usr/bin/promtool', ['check', 'metrics'], {
      input: text,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    expect(output.trim()).toBe('');
  });
});
