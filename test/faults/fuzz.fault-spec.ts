import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultStack } from './support/fault-stack.js';
import { type Answer, isProblem, productInput, send } from './support/http.js';
import {
  invalidValue,
  type OpenApiDocument,
  type Operation,
  type Schema,
  schemaErrors,
  validValue,
} from './support/openapi-schema.js';

// Scenario 6: schema-driven fuzzing. Every operation in the service's own OpenAPI document
// (/docs-json) gets FAULT_FUZZ_RUNS (default 100) generated requests: valid and deliberately
// invalid bodies, path and query parameters, and headers (ETags, credentials).
// Must hold: no 5xx; every 4xx is problem+json; every 2xx is a documented status whose body
// matches the documented schema (exactly the documented fields); an invalid body is never a 2xx.

const RUNS = Number(process.env.FAULT_FUZZ_RUNS ?? 100);
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const API_KEY = `key-${randomUUID()}`;

let stack: FaultStack;
let baseUrl: string;
let doc: OpenApiDocument;
const pools: Record<string, string[]> = { products: [], users: [], jobs: [] };
const figures: Record<string, Record<string, number>> = {};

beforeAll(async () => {
  stack = await FaultStack.start({ redis: true });
  // One client sends wrong credentials on purpose (a tenth of the writes): raised so the failed-auth limit
  // (20 per minute per address by default, attack-auth.e2e covers it) does not turn the rest into 429s.
  const service = await stack.startInstance({ ADMIN_TOKEN, API_KEYS: `fuzz:${API_KEY}`, AUTH_FAILURE_LIMIT: '100000' });
  baseUrl = service.url;
  doc = (await send(`${baseUrl}/docs-json`)).json as OpenApiDocument;
  const auth = { 'x-api-key': API_KEY };
  for (let i = 0; i < 10; i++) {
    pools.products!.push(
      (
        (await send(`${baseUrl}/v1/products`, { method: 'POST', json: productInput('fuzz', i), headers: auth }))
          .json as { id: string }
      ).id,
    );
    pools.users!.push(
      (
        (
          await send(`${baseUrl}/v1/users`, {
            method: 'POST',
            json: { email: `fuzz-${i}-${randomUUID()}@example.com`, name: `Fuzz ${i}` },
            headers: auth,
          })
        ).json as { id: string }
      ).id,
    );
  }
  const imported = await send(`${baseUrl}/v1/products/import`, {
    method: 'POST',
    json: { items: [productInput('fuzz-import', 0)] },
    headers: auth,
  });
  pools.jobs!.push((imported.json as { jobId: string }).jobId);
});

afterAll(async () => {
  await stack?.close();
});

interface Case {
  path: string;
  query: string;
  headers: Record<string, string>;
  /** undefined: no body. */
  body: string | undefined;
  /** The body was generated to break the documented schema (or is not JSON at all). */
  invalidBody: boolean;
}

function poolFor(path: string): string[] {
  if (path.startsWith('/v1/products')) return pools.products!;
  if (path.startsWith('/v1/users')) return pools.users!;
  if (path.startsWith('/v1/jobs')) return pools.jobs!;
  return [];
}

/** Path ids: a live one, a random UUID, or garbage. */
function pathValue(path: string, schema: Schema | undefined): fc.Arbitrary<string> {
  const pool = poolFor(path);
  const options: fc.Arbitrary<string>[] = [
    fc.uuid(),
    fc.constantFrom(
      'not-a-uuid',
      '1',
      '%00',
      "'; DROP TABLE products; --",
      '00000000-0000-0000-0000-00000000000g',
      'ÿ'.repeat(40),
    ),
  ];
  if (pool.length > 0) options.push(fc.constantFrom(...pool), fc.constantFrom(...pool));
  if (schema?.format !== 'uuid') options.push(fc.string({ minLength: 1, maxLength: 40 }));
  return fc.oneof(...options);
}

function queryValue(schema: Schema | undefined): fc.Arbitrary<string | undefined> {
  const valid = schema
    ? validValue(doc, schema).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
    : fc.string();
  const invalid = schema
    ? invalidValue(doc, schema).map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? '')))
    : fc.string();
  return fc.oneof(
    fc.constant(undefined),
    valid,
    invalid,
    fc.constantFrom('', '-1', '0', '101', '1e3', 'true', 'yes', '%ZZ', 'eyJpZCI6Ii'),
  );
}

function headerValue(name: string): fc.Arbitrary<string | undefined> {
  const lower = name.toLowerCase();
  if (lower === 'authorization') {
    return fc.constantFrom(
      `Bearer ${ADMIN_TOKEN}`,
      `Bearer ${ADMIN_TOKEN}`,
      `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`,
      'Bearer wrong',
      'Basic !!!',
      '',
      undefined,
    );
  }
  // If-Match / If-None-Match: plausible ETags, wildcards and junk.
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    fc.integer({ min: 0, max: 5 }).map((v) => `"${v}"`),
    fc.integer({ min: 0, max: 5 }).map((v) => `W/"${v}"`),
    fc.constantFrom('*', '"1", "2"', 'garbage', '""', '"', 'W/'),
    fc.string({ maxLength: 30 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
  );
}

/** A body that is valid per the schema; unique fields get a fresh suffix so a valid create can succeed. */
function uniquify(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(uniquify);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const suffix = randomUUID().slice(0, 8);
  if (typeof copy.sku === 'string') copy.sku = `${copy.sku.slice(0, 50)}-${suffix}`;
  if (typeof copy.email === 'string') copy.email = `${suffix}${copy.email}`.slice(-254);
  if (Array.isArray(copy.items)) copy.items = copy.items.map(uniquify);
  return copy;
}

function bodyValue(schema: Schema): fc.Arbitrary<{ body: string; invalid: boolean; contentType: string }> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: validValue(doc, schema).map((v) => ({
        body: JSON.stringify(uniquify(v)),
        invalid: false,
        contentType: 'application/json',
      })),
    },
    {
      weight: 4,
      arbitrary: invalidValue(doc, schema).map((v) => ({
        body: JSON.stringify(v) ?? 'null',
        invalid: true,
        contentType: 'application/json',
      })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { body: '{"sku":', invalid: true, contentType: 'application/json' },
        { body: '', invalid: true, contentType: 'application/json' },
        { body: '{"__proto__":{"admin":true}}', invalid: true, contentType: 'application/json' },
        { body: '{"name":"x"}', invalid: true, contentType: 'text/plain' },
        { body: '<xml/>', invalid: true, contentType: 'application/xml' },
        {
          body: JSON.stringify({ items: [], pad: 'x'.repeat(1_100_000) }),
          invalid: true,
          contentType: 'application/json',
        },
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .jsonValue({ maxDepth: 2 })
        .filter((v) => schemaErrors(doc, schema, v).length > 0)
        .map((v) => ({ body: JSON.stringify(v), invalid: true, contentType: 'application/json' })),
    },
  );
}

/**
 * An import validates its items in the job (API.md: invalid items are reported in the job's
 * `result.failed`), so only the envelope decides between 202 and 400.
 */
function validImportEnvelope(body: { body: string; contentType: string }): boolean {
  if (body.contentType !== 'application/json') return false;
  try {
    const parsed = JSON.parse(body.body) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return false;
    const keys = Object.keys(parsed);
    const items = (parsed as { items?: unknown }).items;
    return keys.length === 1 && Array.isArray(items) && items.length >= 1 && items.length <= 10_000;
  } catch {
    return false;
  }
}

function caseFor(path: string, method: string, op: Operation): fc.Arbitrary<Case> {
  const params = op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const headerParams = params.filter((p) => p.in === 'header');
  const bodySchema = op.requestBody?.content['application/json']?.schema;
  const credentials = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom<Record<string, string>>(
        { 'x-api-key': API_KEY },
        { authorization: `Bearer ${API_KEY}` },
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Record<string, string>>(
        { 'x-api-key': 'wrong' },
        { authorization: 'Bearer wrong' },
        {},
      ),
    },
  );
  return fc
    .record({
      pathValues: fc.tuple(...pathParams.map((p) => pathValue(path, p.schema))),
      queryValues: fc.tuple(...queryParams.map((p) => queryValue(p.schema))),
      headerValues: fc.tuple(...headerParams.map((p) => headerValue(p.name))),
      credentials: path.startsWith('/v1') && method !== 'get' ? credentials : fc.constant({}),
      body: bodySchema
        ? bodyValue(bodySchema).map((b) => b as { body: string; invalid: boolean; contentType: string } | undefined)
        : fc.constant(undefined),
    })
    .map(({ pathValues, queryValues, headerValues, credentials: auth, body }) => {
      let concrete = path;
      pathParams.forEach((p, i) => (concrete = concrete.replace(`{${p.name}}`, encodeURIComponent(pathValues[i]!))));
      const search = new URLSearchParams();
      queryParams.forEach((p, i) => {
        const value = queryValues[i];
        if (value !== undefined) search.set(p.name, value);
      });
      const headers: Record<string, string> = { ...auth };
      headerParams.forEach(
        (p, i) => headerValues[i] !== undefined && (headers[p.name.toLowerCase()] = headerValues[i]!),
      );
      if (body) headers['content-type'] = body.contentType;
      const invalidBody =
        body !== undefined && body.invalid && !(path.endsWith('/import') && validImportEnvelope(body));
      return {
        path: concrete,
        query: search.size > 0 ? `?${search.toString()}` : '',
        headers,
        body: body?.body,
        invalidBody,
      };
    });
}

function check(method: string, path: string, op: Operation, request: Case, answer: Answer): void {
  const where = `${method.toUpperCase()} ${request.path}${request.query} ${request.body?.slice(0, 200) ?? ''} → ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, where).toBeLessThan(500);
  if (answer.status >= 400) {
    expect(isProblem(answer), `not problem+json: ${where}`).toBe(true);
    expect(schemaErrors(doc, { $ref: '#/components/schemas/ProblemDetailsDto' }, answer.json), where).toEqual([]);
    return;
  }
  if (answer.status >= 200 && answer.status < 300) {
    expect(request.invalidBody, `an invalid body was accepted: ${where}`).toBe(false);
    const documented = op.responses[String(answer.status)];
    expect(documented, `undocumented status: ${where}`).toBeDefined();
    const schema = documented?.content?.['application/json']?.schema;
    if (schema) expect(schemaErrors(doc, schema, answer.json), where).toEqual([]);
    else expect(answer.text, where).toBe('');
  }
}

function remember(path: string, answer: Answer): void {
  const body = answer.json as { id?: string; jobId?: string } | undefined;
  if (answer.status === 201 && body?.id) poolFor(path).push(body.id);
  if (answer.status === 202 && body?.jobId) pools.jobs!.push(body.jobId);
}

describe('schema-driven fuzzing from /docs-json', () => {
  it('covers every documented operation with generated requests, and every answer keeps the contract', async () => {
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, op })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(10);
    for (const { path, method, op } of operations) {
      const counts: Record<string, number> = {};
      figures[`${method.toUpperCase()} ${path}`] = counts;
      await fc.assert(
        fc.asyncProperty(caseFor(path, method, op), async (request) => {
          const answer = await send(`${baseUrl}${request.path}${request.query}`, {
            method: method.toUpperCase(),
            headers: request.headers,
            body: request.body,
          });
          counts[answer.status] = (counts[answer.status] ?? 0) + 1;
          remember(path, answer);
          check(method, path, op, request, answer);
        }),
        { numRuns: RUNS, endOnFailure: true },
      );
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(RUNS);
    }
    const total = Object.values(figures).reduce(
      (sum, counts) => sum + Object.values(counts).reduce((a, b) => a + b, 0),
      0,
    );
    const twoXx = Object.values(figures).reduce(
      (sum, counts) =>
        sum +
        Object.entries(counts)
          .filter(([s]) => s.startsWith('2'))
          .reduce((a, [, n]) => a + n, 0),
      0,
    );
    console.log(
      `[faults:fuzz] operations=${operations.length} requests=${total} 2xx=${twoXx} 5xx=0 per-operation status counts:`,
    );
    for (const [operation, counts] of Object.entries(figures))
      console.log(`  ${operation.padEnd(40)} ${JSON.stringify(counts)}`);
    // Each write operation got some valid, accepted requests: the generator reaches the happy path.
    for (const operation of [
      'POST /v1/products',
      'POST /v1/users',
      'PATCH /v1/products/{id}',
      'GET /v1/products/{id}',
    ]) {
      expect(
        Object.keys(figures[operation] ?? {}).some((s) => s.startsWith('2')),
        operation,
      ).toBe(true);
    }
  });
});
