import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** The value of one series line, e.g. `http_request_duration_seconds_count{method="GET",...}`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([key, value]) => body.includes(`${key}="${value}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

describe('metrics', () => {
  let database: TestDatabase;
  let app: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase('metrics');
    app = await bootTestApp({
      DATABASE_URL: database.url,
      QUEUE_DRIVER: 'memory',
      CACHE_STORE: 'memory',
      THROTTLE_LIMIT: '1000',
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('serves the Prometheus text format with the process metrics', async () => {
    const response = await app.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    for (const name of [
      'cache_requests_total',
      'throttled_requests_total',
      'queue_jobs_total',
      'queue_depth',
      'outbox_lag_seconds',
      'webhook_deliveries_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it('observes request durations by route template, method and status', async () => {
    const created = await app.request('/v1/products', {
      method: 'POST',
      json: { sku: 'MET-1', name: 'Measured', priceCents: 1, currency: 'EUR' },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    for (let i = 0; i < 3; i++) expect((await app.request(`/v1/products/${id}`)).status).toBe(200);
    expect((await app.request(`/v1/products/${randomUUID()}`)).status).toBe(404);
    expect((await app.request(`/no/such/route/${randomUUID()}`)).status).toBe(404);

    const text = await (await app.request('/metrics')).text();
    const count = (labels: Record<string, string>) => sample(text, 'http_request_duration_seconds_count', labels);
    expect(count({ method: 'POST', route: '/v1/products', status: '201' })).toBe(1);
    expect(count({ method: 'GET', route: '/v1/products/:id', status: '200' })).toBe(3);
    expect(count({ method: 'GET', route: '/v1/products/:id', status: '404' })).toBe(1);
    // Unknown paths share one series: a scanner cannot create a series per URL.
    expect(count({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(text).not.toContain(id);
    expect(
      sample(text, 'http_request_duration_seconds_bucket', { route: '/v1/products/:id', status: '200', le: '+Inf' }),
    ).toBe(3);
    expect(
      sample(text, 'http_request_duration_seconds_sum', { route: '/v1/products/:id', status: '200' }),
    ).toBeGreaterThan(0);
  });
});
