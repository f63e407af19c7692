import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { type OtlpReceiver as Receiver, OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { deleteKeys } from '../support/redis-keys.js';
import { type ServiceProcess, startService } from '../support/service-process.js';
import { TEST_REDIS_URL } from '../support/services.js';
import { SmtpPeer } from '../support/smtp-peer.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

// OpenTelemetry end to end: the built service (dist/, `npm run build`) started as the start
// scripts start it (`--import dist/telemetry.js`), exporting to an OTLP/HTTP receiver inside the
// test, with real PostgreSQL, Redis (BullMQ), an SMTP peer and a webhook receiver.

const PREFIX = `t-tracing-${randomUUID().slice(0, 8)}`;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const LOADED_MODULES = new URL('../support/loaded-modules.mjs', import.meta.url).pathname;
const SPAN_KIND_SERVER = 2;

let db: TestDatabase;
let smtp: SmtpPeer;
let webhooks: WebhookReceiver;
let otlp: Receiver;
const services: ServiceProcess[] = [];
const databases: TestDatabase[] = [];

beforeAll(async () => {
  db = await createTestDatabase('tracing');
  databases.push(db);
  smtp = await SmtpPeer.start();
  webhooks = await WebhookReceiver.start(SECRET);
  otlp = await OtlpReceiver.start();
});

afterAll(async () => {
  for (const service of services) await service.stop('SIGKILL');
  await smtp?.stop();
  await webhooks?.stop();
  await otlp?.stop();
  for (const database of databases) await database.drop();
  await deleteKeys(PREFIX);
});

async function start(env: Record<string, string>, database = db, preloads: string[] = []): Promise<ServiceProcess> {
  const service = await startService(
    {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `${PREFIX}-${services.length}`,
      QUEUE_DRIVER: 'bullmq',
      SMTP_URL: smtp.url,
      WEBHOOK_URLS: `${webhooks.baseUrl}/hook`,
      WEBHOOK_SECRET: SECRET,
      LOG_LEVEL: 'info',
      ...env,
    },
    30_000,
    { preloads },
  );
  services.push(service);
  return service;
}

function newTraceparent(): { traceId: string; parentId: string; header: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { traceId, parentId, header: `00-${traceId}-${parentId}-01` };
}

function named(spans: ReceivedSpan[], name: string | RegExp): ReceivedSpan {
  const span = spans.find((s) => (typeof name === 'string' ? s.name === name : name.test(s.name)));
  if (span === undefined) throw new Error(`no span ${String(name)} among ${spans.map((s) => s.name).join(', ')}`);
  return span;
}

/** True when `ancestor` is on the parent chain of `span`. */
function descends(spans: ReceivedSpan[], span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  let current: ReceivedSpan | undefined = span;
  while (current?.parentSpanId !== undefined) {
    if (current.parentSpanId === ancestor.spanId) return true;
    const parentId: string = current.parentSpanId;
    current = spans.find((s) => s.spanId === parentId);
  }
  return false;
}

/** Where a service started with the loaded-modules preload lists its modules at exit. */
function modulesFile(): string {
  return join(tmpdir(), `loaded-modules-${randomUUID()}.json`);
}

/** Each loaded module's URL, with the URL of the module that first imported or required it. */
async function loadedModules(file: string): Promise<Record<string, string | null>> {
  const modules = JSON.parse(await readFile(file, 'utf8')) as Record<string, string | null>;
  await rm(file, { force: true });
  return modules;
}

const isOtelModule = (url: string) =>
  /\/node_modules\/(@opentelemetry\/|bullmq-otel\/|import-in-the-middle\/)/.test(url);

describe('tracing on (OTLP http/json)', () => {
  let service: ServiceProcess;
  const modules = modulesFile();

  beforeAll(async () => {
    service = await start(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'tracing-e2e',
        // The sweeper's test: an event left undispatched is picked up within about a second.
        OUTBOX_SWEEP_AFTER_MS: '1000',
        OUTBOX_SWEEP_INTERVAL_MS: '300',
        LOADED_MODULES_FILE: modules,
      },
      db,
      [LOADED_MODULES],
    );
  });

  it('one trace holds the request, the transaction, the outbox hand-over, the event job, the webhook attempt and the email', async () => {
    const caller = newTraceparent();
    const email = `trace-${randomUUID()}@example.com`;
    const created = await fetch(`${service.url}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: caller.header },
      body: JSON.stringify({ email, name: 'Trace Test' }),
    });
    expect(created.status).toBe(201);
    const user = (await created.json()) as { id: string };

    await eventually(() => {
      const names = otlp.trace(caller.traceId).map((s) => s.name);
      expect(names).toContain('smtp send');
      expect(names).toContain('webhook attempt');
    }, 30_000);
    const spans = otlp.trace(caller.traceId);

    // The incoming traceparent is continued; the server span is named after the route template.
    const server = named(spans, 'POST /v1/users');
    expect(server.kind).toBe(SPAN_KIND_SERVER);
    expect(server.parentSpanId).toBe(caller.parentId);
    const transaction = named(spans, 'unit-of-work');
    expect(transaction.parentSpanId).toBe(server.spanId);
    const insert = named(spans, /^pg\.query:INSERT/);
    expect(descends(spans, insert, transaction)).toBe(true);
    const handOver = named(spans, 'outbox hand-over');
    expect(handOver.parentSpanId).toBe(transaction.spanId);
    expect(handOver.attributes['outbox.swept']).toBe(false);
    const enqueued = named(spans, 'add events.dispatch-event');
    expect(descends(spans, enqueued, handOver)).toBe(true);
    const eventJob = named(spans, 'process events');
    expect(descends(spans, eventJob, enqueued)).toBe(true);
    const attempt = named(spans, 'webhook attempt');
    expect(descends(spans, attempt, eventJob)).toBe(true);
    // undici's instrumentation patches the npm package's request() too: its client span, under the attempt.
    const post = spans.find((s) => s.scope === '@opentelemetry/instrumentation-undici');
    expect(post === undefined ? undefined : descends(spans, post, attempt)).toBe(true);
    const mail = named(spans, 'smtp send');
    expect(descends(spans, mail, eventJob)).toBe(true);
    // The instrumentations patched the natively imported modules: pg, node-redis, ioredis (BullMQ).
    const scopes = new Set(spans.map((s) => s.scope));
    expect(scopes).toContain('@opentelemetry/instrumentation-pg');
    expect(scopes).toContain('@opentelemetry/instrumentation-redis');
    expect(scopes).toContain('@opentelemetry/instrumentation-ioredis');
    // No span carries the user's data (Redis commands are recorded by name, not with their arguments).
    expect(JSON.stringify(spans.map((span) => span.attributes))).not.toContain(email);

    // The receiver got the attempt's context, outside the signed content (the signature verified).
    const delivery = webhooks.received.find((w) => (w.body.data as { id?: string }).id === user.id);
    expect(delivery?.headers.traceparent).toBe(`00-${caller.traceId}-${post!.spanId}-01`);

    // The outbox row carries the transaction's context.
    const [row] = await db.query<{ trace_parent: string | null }>(
      `SELECT trace_parent FROM outbox_events WHERE aggregate_id = $1`,
      [user.id],
    );
    expect(row?.trace_parent).toBe(`00-${caller.traceId}-${transaction.spanId}-01`);

    // Log lines inside the request and its jobs carry the trace.
    const traced = service
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { trace_id?: string; span_id?: string; msg?: string; context?: string })
      .filter((line) => line.trace_id === caller.traceId);
    expect(traced.find((line) => line.msg === 'POST /v1/users 201')?.span_id).toBe(server.spanId);
  });

  it('a cached GET says hit and the rate-limit decision on its span, with no Redis span under it', async () => {
    const created = await fetch(`${service.url}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `cached-${randomUUID()}@example.com`, name: 'Cached' }),
    });
    const user = (await created.json()) as { id: string };
    expect((await fetch(`${service.url}/v1/users/${user.id}`)).status).toBe(200);
    const caller = newTraceparent();
    const cached = await fetch(`${service.url}/v1/users/${user.id}`, { headers: { traceparent: caller.header } });
    expect(cached.headers.get('cache-status')).toMatch(/; hit/);

    const server = await eventually(() => named(otlp.trace(caller.traceId), 'GET /v1/users/:id'), 30_000);
    expect(server.attributes['cache.outcome']).toBe('hit');
    expect(server.attributes['ratelimit.allowed']).toBe(true);
    expect(otlp.trace(caller.traceId).filter((s) => s.scope.includes('redis'))).toEqual([]);
  });

  it('an event the relay never handed over (a crash after the commit) joins its trace when the sweeper hands it over', async () => {
    const writer = newTraceparent();
    const id = randomUUID();
    const userId = randomUUID();
    // As a process killed between its commit and the relay leaves it: committed, undispatched.
    await db.query(
      `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at, trace_parent)
       VALUES ($1, 'user.updated', 'user', $2, $3, now() - interval '1 minute', $4)`,
      [
        id,
        userId,
        JSON.stringify({ id: userId, email: 'swept@example.com', name: 'Swept', version: 2 }),
        writer.header,
      ],
    );
    const handOver = await eventually(() => named(otlp.trace(writer.traceId), 'outbox hand-over'), 30_000);
    expect(handOver.parentSpanId).toBe(writer.parentId);
    expect(handOver.attributes['outbox.swept']).toBe(true);
    expect(handOver.attributes['outbox.event_id']).toBe(id);
    const eventJob = await eventually(() => named(otlp.trace(writer.traceId), 'process events'), 30_000);
    expect(descends(otlp.trace(writer.traceId), eventJob, handOver)).toBe(true);
  });

  it('loads the OpenTelemetry modules (the control for the tracing-off test)', async () => {
    await service.stop('SIGTERM');
    const loaded = Object.keys(await loadedModules(modules));
    expect(loaded.filter((url) => isOtelModule(url) && !url.includes('/@opentelemetry/api/'))).not.toEqual([]);
  });
});

describe('tracing on (OTLP http/protobuf)', () => {
  it('exports protobuf that carries the request trace', async () => {
    const database = await createTestDatabase('tracing_proto');
    databases.push(database);
    const service = await start(
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.url}/v1/traces`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' },
      database,
    );
    const caller = newTraceparent();
    expect(
      (await fetch(`${service.url}/v1/users/${randomUUID()}`, { headers: { traceparent: caller.header } })).status,
    ).toBe(404);
    // No protobuf decoder in node_modules: the export's trace id is its 16 raw bytes in the body.
    const traceBytes = Buffer.from(caller.traceId, 'hex');
    const exported = await eventually(() => {
      const found = otlp.exports.find((e) => e.body.includes(traceBytes));
      expect(found).toBeDefined();
      return found!;
    }, 30_000);
    expect(exported.contentType).toBe('application/x-protobuf');
    expect(exported.body.includes(Buffer.from('GET /v1/users/:id'))).toBe(true);
    await service.stop('SIGTERM');
  });
});

describe('tracing off', () => {
  it('loads no OpenTelemetry module, writes no trace context and no trace ids', async () => {
    const database = await createTestDatabase('tracing_off');
    databases.push(database);
    const modules = modulesFile();
    const service = await start({ LOADED_MODULES_FILE: modules }, database, [LOADED_MODULES]);
    const created = await fetch(`${service.url}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: newTraceparent().header },
      body: JSON.stringify({ email: `off-${randomUUID()}@example.com`, name: 'Off' }),
    });
    expect(created.status).toBe(201);
    const user = (await created.json()) as { id: string };
    await eventually(async () => {
      const rows = await database.query<{ dispatched_at: Date | null }>(
        `SELECT dispatched_at FROM outbox_events WHERE aggregate_id = $1`,
        [user.id],
      );
      expect(rows[0]?.dispatched_at).not.toBeNull();
    }, 30_000);
    await eventually(() => expect(smtp.received.some((m) => m.raw.includes('Off'))).toBe(true), 30_000);
    const exit = await service.stop('SIGTERM');
    expect(exit.code).toBe(0);

    const loaded = await loadedModules(modules);
    // The list is real: the application's own modules are in it.
    expect(Object.keys(loaded).some((url) => url.endsWith('/dist/main.js'))).toBe(true);
    // Nothing of the SDK, the instrumentations, the exporters or the loader hook. The one exception is
    // not ours: prom-client requires @opentelemetry/api (for exemplars, unused here) at its import;
    // it is the API's no-op package, and nothing but prom-client brings it in.
    const otel = Object.keys(loaded).filter(isOtelModule);
    expect(otel.filter((url) => !url.includes('/node_modules/@opentelemetry/api/'))).toEqual([]);
    const apiEntry = otel.filter((url) => !(loaded[url] ?? '').includes('/node_modules/@opentelemetry/api/'));
    for (const url of apiEntry)
      expect(loaded[url]).toMatch(/\/node_modules\/prom-client\/lib\/metrics\/processCpuTotal\.js$/);
    expect(
      await database.query(
        `SELECT count(*)::int AS n FROM outbox_events WHERE trace_parent IS NOT NULL OR trace_state IS NOT NULL`,
      ),
    ).toEqual([{ n: 0 }]);
    expect(service.output()).not.toContain('trace_id');
  });
});
