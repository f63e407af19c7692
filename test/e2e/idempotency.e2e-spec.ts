import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyStore } from '../../src/infra/idempotency/index.js';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { deleteKeys } from '../support/redis-keys.js';
import { TEST_REDIS_URL } from '../support/services.js';
import { SmtpPeer } from '../support/smtp-peer.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

// The "Idempotent retries: Idempotency-Key" section of API.md, rule by rule, for users, products
// and the import, against real PostgreSQL and Redis, with a real webhook receiver and SMTP peer.

const RUN = randomUUID().slice(0, 8);
const PREFIX = `t-idem-${RUN}`;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const A = { authorization: `Bearer a-${RUN}-secret-key` };
const B = { authorization: `Bearer b-${RUN}-secret-key` };
/** The in-flight lock the service takes per key (idempotency.store.ts). */
const IN_FLIGHT_LOCK = 0x69646d70;

let db: TestDatabase;
let api: TestApp;
let receiver: WebhookReceiver;
let smtp: SmtpPeer;

beforeAll(async () => {
  db = await createTestDatabase('idempotency');
  receiver = await WebhookReceiver.start(SECRET);
  smtp = await SmtpPeer.start();
  api = await bootTestApp({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    QUEUE_DRIVER: 'bullmq',
    API_KEYS: `a:a-${RUN}-secret-key,b:b-${RUN}-secret-key`,
    WEBHOOK_URLS: `${receiver.baseUrl}/hooks`,
    WEBHOOK_SECRET: SECRET,
    SMTP_URL: smtp.url,
  });
});

afterAll(async () => {
  await api?.close();
  await receiver?.stop();
  await smtp?.stop();
  await db?.drop();
  await deleteKeys(PREFIX);
});

type Init = { method: string; json?: unknown; body?: string; headers?: Record<string, string> };

function send(path: string, key: string | undefined, init: Init, client = A): Promise<Response> {
  const headers: Record<string, string> = { ...client, ...init.headers };
  if (key !== undefined) headers['idempotency-key'] = key;
  const body = init.body ?? (init.json !== undefined ? JSON.stringify(init.json) : undefined);
  return api.request(path, {
    method: init.method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body,
  });
}

async function snapshot(response: Response) {
  return {
    status: response.status,
    location: response.headers.get('location'),
    etag: response.headers.get('etag'),
    contentType: response.headers.get('content-type'),
    replayed: response.headers.get('idempotent-replayed'),
    body: Buffer.from(await response.arrayBuffer()).toString('hex'),
  };
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) AS counted`, params);
  return row!.n;
}

const newUser = () => ({ email: `idem-${randomUUID()}@example.com`, name: 'Idem Potent' });
const newProduct = () => ({ sku: `IDEM-${randomUUID().slice(0, 12)}`, name: 'Idem', priceCents: 100, currency: 'EUR' });

describe('replay', () => {
  it('POST /v1/users: the same status, bytes, Location and ETag, flagged, with one user and one event', async () => {
    const key = `user-${randomUUID()}`;
    const user = newUser();
    const first = await snapshot(await send('/v1/users', key, { method: 'POST', json: user }));
    expect(first.status).toBe(201);
    expect(first.replayed).toBeNull();
    const again = await snapshot(await send('/v1/users', key, { method: 'POST', json: user }));
    expect(again).toEqual({ ...first, replayed: 'true' });
    const [{ id } = { id: '' }] = await db.query<{ id: string }>(`SELECT id FROM users WHERE email = $1`, [user.email]);
    expect(await count(`SELECT 1 FROM users WHERE email = $1`, [user.email])).toBe(1);
    expect(await count(`SELECT 1 FROM outbox_events WHERE aggregate_id = $1`, [id])).toBe(1);
    expect(await count(`SELECT 1 FROM idempotency_keys WHERE key = $1`, [key])).toBe(1);
  });

  it('a Structured Field string key is the same key unquoted', async () => {
    const key = `sf-${randomUUID()}`;
    const product = newProduct();
    const first = await snapshot(await send('/v1/products', key, { method: 'POST', json: product }));
    const again = await snapshot(await send('/v1/products', `"${key}"`, { method: 'POST', json: product }));
    expect(first.status).toBe(201);
    expect(again).toEqual({ ...first, replayed: 'true' });
  });

  it('PATCH /v1/products/{id}: the stored ETag, even after a later change, and no second event or version', async () => {
    const created = (await (await send('/v1/products', undefined, { method: 'POST', json: newProduct() })).json()) as {
      id: string;
    };
    const key = `patch-${randomUUID()}`;
    const path = `/v1/products/${created.id}`;
    const first = await snapshot(await send(path, key, { method: 'PATCH', json: { stock: 7 } }));
    expect(first.status).toBe(200);
    expect(first.etag).toBe('"2"');
    const later = await send(path, undefined, { method: 'PATCH', json: { stock: 9 } });
    expect(later.headers.get('etag')).toBe('"3"');
    const again = await snapshot(await send(path, key, { method: 'PATCH', json: { stock: 7 } }));
    expect(again).toEqual({ ...first, replayed: 'true' });
    const read = await api.request(path);
    expect(((await read.json()) as { stock: number; version: number }).version).toBe(3);
    expect(await count(`SELECT 1 FROM outbox_events WHERE aggregate_id = $1`, [created.id])).toBe(3);
  });

  it('DELETE /v1/users/{id}: 204 again with the flag, one user.deleted event', async () => {
    const created = (await (await send('/v1/users', undefined, { method: 'POST', json: newUser() })).json()) as {
      id: string;
    };
    const key = `delete-${randomUUID()}`;
    const first = await send(`/v1/users/${created.id}`, key, { method: 'DELETE' });
    expect(first.status).toBe(204);
    const again = await send(`/v1/users/${created.id}`, key, { method: 'DELETE' });
    expect(again.status).toBe(204);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe('');
    expect(
      await count(`SELECT 1 FROM outbox_events WHERE aggregate_id = $1 AND type = 'user.deleted'`, [created.id]),
    ).toBe(1);
  });

  it('POST /v1/products/import: the same jobId, one staged import, one job run', async () => {
    const key = `import-${randomUUID()}`;
    const items = [newProduct(), newProduct()];
    const first = await snapshot(await send('/v1/products/import', key, { method: 'POST', json: { items } }));
    expect(first.status).toBe(202);
    const again = await snapshot(await send('/v1/products/import', key, { method: 'POST', json: { items } }));
    expect(again).toEqual({ ...first, replayed: 'true' });
    const { jobId } = JSON.parse(Buffer.from(first.body, 'hex').toString()) as { jobId: string };
    const job = await eventually(async () => {
      const response = await api.request(`/v1/jobs/${jobId}`, { headers: A });
      const status = (await response.json()) as { state: string; result?: { created: number } };
      expect(status.state).toBe('completed');
      return status;
    });
    expect(job.result?.created).toBe(2);
    expect(await count(`SELECT 1 FROM products WHERE sku = ANY($1)`, [items.map((i) => i.sku)])).toBe(2);
  });
});

describe('422: the same key for another request', () => {
  it.each([
    ['another body', '/v1/users', { method: 'POST', json: newUser() }],
    ['the same JSON in other bytes', '/v1/users', { method: 'POST', body: 'SAME' }],
    ['another route', '/v1/products', { method: 'POST', json: newProduct() }],
  ] as Array<[string, string, Init]>)('%s → 422 naming the key, nothing written', async (_label, path, init) => {
    const key = `mismatch-${randomUUID()}`;
    const user = newUser();
    expect((await send('/v1/users', key, { method: 'POST', json: user })).status).toBe(201);
    const reordered = JSON.stringify({ name: user.name, email: user.email });
    const other = init.body === 'SAME' ? { ...init, body: reordered } : init;
    const before = await count(`SELECT 1 FROM outbox_events`);
    const response = await send(path, key, other);
    expect(response.status).toBe(422);
    expect((await problemOf(response)).detail).toContain(JSON.stringify(key));
    expect(await count(`SELECT 1 FROM outbox_events`)).toBe(before);
  });

  it('PATCH of another id with the same key → 422', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      ids.push(
        ((await (await send('/v1/users', undefined, { method: 'POST', json: newUser() })).json()) as { id: string }).id,
      );
    }
    const key = `other-id-${randomUUID()}`;
    expect((await send(`/v1/users/${ids[0]}`, key, { method: 'PATCH', json: { name: 'X' } })).status).toBe(200);
    expect((await send(`/v1/users/${ids[1]}`, key, { method: 'PATCH', json: { name: 'X' } })).status).toBe(422);
  });
});

describe('409 while the first request is in flight', () => {
  it('answers 409 with Retry-After: 1 and writes nothing; after it, the key works', async () => {
    const key = `inflight-${randomUUID()}`;
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      // What a twin request in its transaction holds (idempotency.store.ts): held here, deterministically.
      await holder.query(`SELECT pg_advisory_lock($1, hashtext($2))`, [IN_FLIGHT_LOCK, `a\n${key}`]);
      const user = newUser();
      const response = await send('/v1/users', key, { method: 'POST', json: user });
      expect(response.status).toBe(409);
      expect(response.headers.get('retry-after')).toBe('1');
      expect((await problemOf(response)).detail).toContain(JSON.stringify(key));
      expect(await count(`SELECT 1 FROM users WHERE email = $1`, [user.email])).toBe(0);
      await holder.query(`SELECT pg_advisory_unlock($1, hashtext($2))`, [IN_FLIGHT_LOCK, `a\n${key}`]);
      expect((await send('/v1/users', key, { method: 'POST', json: user })).status).toBe(201);
    } finally {
      await holder.end();
    }
  });
});

describe('400 for a malformed key', () => {
  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a space', 'two words'],
    ['non-ASCII', 'clé'],
    ['an unterminated quote', '"abc'],
    ['an empty quoted string', '""'],
  ])('%s → 400 problem+json, nothing written', async (_label, key) => {
    const user = newUser();
    const response = await send('/v1/users', key, { method: 'POST', json: user });
    expect(response.status).toBe(400);
    expect((await problemOf(response)).errors?.[0]?.field).toBe('Idempotency-Key');
    expect(await count(`SELECT 1 FROM users WHERE email = $1`, [user.email])).toBe(0);
  });

  it('255 visible ASCII characters are a valid key', async () => {
    const key = `${randomUUID()}${'~'.repeat(255 - 36)}`;
    expect((await send('/v1/users', key, { method: 'POST', json: newUser() })).status).toBe(201);
  });

  it('control characters → 400 (Node.js refuses them before the service), nothing written', async () => {
    for (const control of ['\x01', '\x7f', '\x1b']) {
      const status = await rawStatus(`POST /v1/users HTTP/1.1`, [`idempotency-key: a${control}b`]);
      expect(status).toBe(400);
    }
  });
});

describe('a failure leaves the key unused', () => {
  it('400, 409 and 412 first; the corrected retry with the same key proceeds', async () => {
    const key = `fix-${randomUUID()}`;
    expect((await send('/v1/users', key, { method: 'POST', json: { email: 'not-an-email', name: 'X' } })).status).toBe(
      400,
    );
    const taken = newUser();
    expect((await send('/v1/users', undefined, { method: 'POST', json: taken })).status).toBe(201);
    expect((await send('/v1/users', key, { method: 'POST', json: { ...taken, name: 'Y' } })).status).toBe(409);
    expect(await count(`SELECT 1 FROM idempotency_keys WHERE key = $1`, [key])).toBe(0);
    const fixed = newUser();
    const created = await send('/v1/users', key, { method: 'POST', json: fixed });
    expect(created.status).toBe(201);
    expect(created.headers.get('idempotent-replayed')).toBeNull();

    const { id } = (await created.json()) as { id: string };
    const patchKey = `fix-412-${randomUUID()}`;
    const stale = await send(`/v1/users/${id}`, patchKey, {
      method: 'PATCH',
      json: { name: 'Z' },
      headers: { 'if-match': '"9"' },
    });
    expect(stale.status).toBe(412);
    const fresh = await send(`/v1/users/${id}`, patchKey, {
      method: 'PATCH',
      json: { name: 'Z' },
      headers: { 'if-match': '"1"' },
    });
    expect(fresh.status).toBe(200);
    const replayed = await send(`/v1/users/${id}`, patchKey, {
      method: 'PATCH',
      json: { name: 'Z' },
      headers: { 'if-match': '"1"' },
    });
    expect(replayed.status).toBe(200);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
  });

  it('404 first; the key then serves another request, which replays', async () => {
    const key = `fix-404-${randomUUID()}`;
    expect((await send(`/v1/products/${randomUUID()}`, key, { method: 'DELETE' })).status).toBe(404);
    expect(await count(`SELECT 1 FROM idempotency_keys WHERE key = $1`, [key])).toBe(0);
    const product = (await (await send('/v1/products', undefined, { method: 'POST', json: newProduct() })).json()) as {
      id: string;
    };
    expect((await send(`/v1/products/${product.id}`, key, { method: 'DELETE' })).status).toBe(204);
    const again = await send(`/v1/products/${product.id}`, key, { method: 'DELETE' });
    expect(again.status).toBe(204);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('scope per client', () => {
  it("B reusing A's key gets its own processing, never A's answer", async () => {
    const key = `shared-${randomUUID()}`;
    const user = newUser();
    const byA = await send('/v1/users', key, { method: 'POST', json: user }, A);
    expect(byA.status).toBe(201);
    // The same request by B: its own processing, which here meets A's user (409), not A's 201.
    const byB = await send('/v1/users', key, { method: 'POST', json: user }, B);
    expect(byB.status).toBe(409);
    expect(byB.headers.get('idempotent-replayed')).toBeNull();
    // And B's own new write with that key is processed, then replayed to B only.
    const bUser = newUser();
    const mine = await snapshot(await send('/v1/users', key, { method: 'POST', json: bUser }, B));
    expect(mine.status).toBe(201);
    expect(mine.replayed).toBeNull();
    expect((await send('/v1/users', key, { method: 'POST', json: bUser }, B)).headers.get('idempotent-replayed')).toBe(
      'true',
    );
    expect((await send('/v1/users', key, { method: 'POST', json: bUser }, A)).status).toBe(422);
  });
});

describe('expiry', () => {
  it('an expired key processes anew, and the prune deletes expired rows', async () => {
    const key = `expire-${randomUUID()}`;
    const init = { method: 'POST', json: newProduct() };
    const first = await send('/v1/products', key, init);
    expect(first.status).toBe(201);
    await db.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`, [key]);
    // Same key, same request, past its TTL: processed again (the sku is now taken → 409, not a replay).
    const after = await send('/v1/products', key, init);
    expect(after.status).toBe(409);
    expect(after.headers.get('idempotent-replayed')).toBeNull();
    const other = await send('/v1/products', key, { method: 'POST', json: newProduct() });
    expect(other.status).toBe(201);
    await db.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`, [key]);
    const pruned = await api.app.get(IdempotencyStore).pruneExpired();
    expect(pruned).toBeGreaterThanOrEqual(1);
    expect(await count(`SELECT 1 FROM idempotency_keys WHERE key = $1`, [key])).toBe(0);
    expect(await count(`SELECT 1 FROM idempotency_keys WHERE expires_at <= now()`)).toBe(0);
  });
});

describe('100 concurrent requests with one key', () => {
  it('one user, one row, one event, one webhook delivery, one email; every answer the 201, its replay or 409', async () => {
    const key = `burst-${randomUUID()}`;
    const user = newUser();
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => send('/v1/users', key, { method: 'POST', json: user }).then(snapshot)),
    );
    const created = answers.filter((a) => a.status === 201);
    expect(answers.every((a) => a.status === 201 || a.status === 409)).toBe(true);
    expect(created.filter((a) => a.replayed === null)).toHaveLength(1);
    const original = created.find((a) => a.replayed === null)!;
    for (const replay of created) expect({ ...replay, replayed: null }).toEqual(original);
    for (const conflict of answers.filter((a) => a.status === 409))
      expect(conflict.contentType).toMatch(/problem\+json/);

    const [{ id } = { id: '' }] = await db.query<{ id: string }>(`SELECT id FROM users WHERE email = $1`, [user.email]);
    expect(await count(`SELECT 1 FROM users WHERE email = $1`, [user.email])).toBe(1);
    expect(await count(`SELECT 1 FROM idempotency_keys WHERE key = $1`, [key])).toBe(1);
    expect(await count(`SELECT 1 FROM outbox_events WHERE aggregate_id = $1`, [id])).toBe(1);
    await eventually(() => expect(receiver.received.filter((w) => w.body.data.id === id)).toHaveLength(1));
    await eventually(() => expect(smtp.received.filter((m) => m.to.includes(user.email))).toHaveLength(1));
    // Late duplicates would arrive now; none may.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received.filter((w) => w.body.data.id === id)).toHaveLength(1);
    expect(smtp.received.filter((m) => m.to.includes(user.email))).toHaveLength(1);
  });
});

describe('metrics', () => {
  it('counts new, replayed, conflict and mismatch', async () => {
    const text = await (await api.request('/metrics')).text();
    for (const outcome of ['new', 'replayed', 'conflict', 'mismatch']) {
      expect(text).toMatch(new RegExp(`idempotency_requests_total\\{outcome="${outcome}"\\} [1-9]`));
    }
  });
});

describe('fuzzing the header', () => {
  it('no Idempotency-Key value gets a 5xx', async () => {
    const byte = fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b));
    const value = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.array(byte, { maxLength: 300 }).map((bytes) => bytes.join('')),
      fc.string({ maxLength: 40 }).map((s) => `"${s}"`),
      fc.constantFrom('', '"', '""', '\\', '"\\"', ' a', 'a ', 'k'.repeat(255), 'k'.repeat(256)),
    );
    await fc.assert(
      fc.asyncProperty(value, async (header) => {
        const status = await rawStatus('POST /v1/products HTTP/1.1', [`idempotency-key: ${header}`], {
          sku: `FZ-${randomUUID().slice(0, 8)}`,
          name: 'Fuzz',
          priceCents: 1,
          currency: 'EUR',
        });
        expect(status).toBeLessThan(500);
      }),
      { numRuns: 150, seed: 18 },
    );
  });
});

/** Sends one request over a raw socket (header bytes as given, latin1) and resolves to the status code. */
function rawStatus(requestLine: string, headers: string[], json?: unknown): Promise<number> {
  const url = new URL(api.baseUrl);
  const body = json === undefined ? '{}' : JSON.stringify(json);
  const head = [
    requestLine,
    `host: ${url.host}`,
    `authorization: ${A.authorization}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    ...headers.map((h) => h.replace(/[\r\n]/g, '')),
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), Buffer.from(body)]));
    });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (status) resolve(Number(status[1]));
      else reject(new Error(`no HTTP answer: ${JSON.stringify(answer.slice(0, 200))}`));
    });
  });
}
