import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { deleteKeys } from '../support/redis-keys.js';
import { TEST_REDIS_URL } from '../support/services.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import type { DeadLetterView } from '../../src/modules/notifications/webhooks/dead-letters.service.js';

// Short schedule for the test: 4 attempts, retry n waits between half and all of 100 ms × 2^(n-1).
const ATTEMPTS = 4;
const BASE_MS = 100;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const RUN = randomUUID().slice(0, 8);
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

// The same behaviour on BullMQ (Redis) and on the in-process driver the embedded mode uses.
describe.each(['bullmq', 'memory'] as const)('webhook delivery (%s driver)', (driver) => {
  const PREFIX = `t-webhooks-${driver}-${RUN}`;
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let api: TestApp;
  /** Paths whose deliveries currently fail with 500 (until a test turns them back on). */
  const down = new Set(['/down']);

  beforeAll(async () => {
    db = await createTestDatabase(`webhooks_${driver}`);
    receiver = await WebhookReceiver.start(SECRET);
    receiver.respond = (path, _id, seen) => {
      if (path === '/flaky') return seen < 2 ? 500 : 204; // two failures, then success
      if (path === '/gone') return 410;
      if (down.has(path)) return 500;
      return 204;
    };
    api = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      QUEUE_DRIVER: driver,
      API_KEYS: undefined,
      ADMIN_TOKEN,
      WEBHOOK_URLS: ['/flaky', '/down', '/gone', '/ok'].map((p) => `${receiver.baseUrl}${p}`).join(','),
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_MAX_ATTEMPTS: String(ATTEMPTS),
      WEBHOOK_BACKOFF_BASE_MS: String(BASE_MS),
      WEBHOOK_BACKOFF_MAX_MS: '10000',
    });
  });

  afterAll(async () => {
    await api?.close();
    await receiver?.stop();
    await db?.drop();
    await deleteKeys(PREFIX);
  });

  async function createUser(): Promise<{ user: Record<string, unknown> & { id: string }; eventId: string }> {
    const response = await api.request('/v1/users', {
      method: 'POST',
      json: { email: `w-${randomUUID()}@example.com`, name: 'Webhook Person' },
    });
    expect(response.status).toBe(201);
    const user = (await response.json()) as Record<string, unknown> & { id: string };
    const [event] = await db.query<{ id: string }>(
      `SELECT id FROM outbox_events WHERE aggregate_id = $1 AND type = 'user.created'`,
      [user.id],
    );
    return { user, eventId: event!.id };
  }

  async function deadLetters(): Promise<DeadLetterView[]> {
    const response = await api.request('/admin/dead-letters', { headers: admin });
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: DeadLetterView[] }).items;
  }

  it('signs each delivery per Standard Webhooks, with the documented body', async () => {
    const { user, eventId } = await createUser();
    const [delivery] = await eventually(() => {
      const found = receiver.deliveries('/ok', eventId);
      expect(found).toHaveLength(1);
      return found;
    });
    // The receiver verified the signature with `standardwebhooks` before recording it.
    expect(delivery!.body).toEqual({ id: eventId, type: 'user.created', occurredAt: expect.any(String), data: user });
    expect(new Date(delivery!.body.occurredAt).toISOString()).toBe(delivery!.body.occurredAt);
    expect(Number(delivery!.timestamp)).toBeGreaterThan(Date.now() / 1000 - 300);
    expect(receiver.rejected).toEqual([]);
  });

  it('names the service and its version in the User-Agent', async () => {
    const { eventId } = await createUser();
    const [delivery] = await eventually(() => {
      const found = receiver.deliveries('/ok', eventId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(delivery!.headers['user-agent']).toBe(`${PACKAGE.name}/${PACKAGE.version}`);
  });

  it('retries failures with the same webhook-id and waits that never shrink, then delivers', async () => {
    const { eventId } = await createUser();
    const attempts = await eventually(() => {
      const found = receiver.deliveries('/flaky', eventId);
      expect(found.map((d) => d.status)).toEqual([500, 500, 204]);
      return found;
    });
    expect(new Set(attempts.map((a) => a.webhookId))).toEqual(new Set([eventId]));
    // Retry n waits at least half of base × 2^(n-1), which is the previous retry's longest wait.
    const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual((BASE_MS * 2 ** i) / 2 - 2));
    expect(receiver.rejected).toEqual([]);
  });

  it('stops at 410 Gone: one attempt, no dead letter', async () => {
    const { eventId } = await createUser();
    // /down runs the full schedule for the same event; once it is dead-lettered, /gone has had every chance to be retried.
    await eventually(async () => expect((await deadLetters()).some((d) => d.eventId === eventId)).toBe(true));
    expect(receiver.deliveries('/gone', eventId).map((d) => d.status)).toEqual([410]);
    expect((await deadLetters()).filter((d) => d.eventId === eventId).map((d) => new URL(d.url).pathname)).toEqual([
      '/down',
    ]);
  });

  it('dead-letters a delivery after the last attempt, and replays it with the same webhook-id', async () => {
    const { user, eventId } = await createUser();
    const letter = await eventually(async () => {
      const found = (await deadLetters()).find((d) => d.eventId === eventId);
      expect(found).toBeDefined();
      return found!;
    });
    expect(letter).toEqual({
      id: expect.any(String),
      eventId,
      type: 'user.created',
      url: `${receiver.baseUrl}/down`,
      attempts: ATTEMPTS,
      lastError: 'HTTP 500',
      failedAt: expect.any(String),
    });
    const failed = receiver.deliveries('/down', eventId);
    expect(failed).toHaveLength(ATTEMPTS);
    // Every attempt sent the same bytes (only the timestamp and signature headers change).
    expect(new Set(failed.map((d) => d.raw.toString('base64'))).size).toBe(1);

    // The receiver is back; the operator replays.
    down.delete('/down');
    try {
      const replay = await api.request(`/admin/dead-letters/${letter.id}/replay`, { method: 'POST', headers: admin });
      expect(replay.status).toBe(202);
      const delivered = await eventually(() => {
        const found = receiver.deliveries('/down', eventId).filter((d) => d.status === 204);
        expect(found).toHaveLength(1);
        return found[0]!;
      });
      expect(delivered.webhookId).toBe(eventId);
      expect(delivered.body).toEqual({ id: eventId, type: 'user.created', occurredAt: expect.any(String), data: user });
      // Byte for byte the body of the failed original (the jsonb payload would reorder keys),
      // signed afresh: a Standard Webhooks library accepts it on the raw bytes.
      expect(delivered.raw.equals(failed[0]!.raw)).toBe(true);
      expect(new Webhook(SECRET).verify(delivered.raw.toString('utf8'), delivered.headers)).toEqual(delivered.body);
      expect((await deadLetters()).some((d) => d.id === letter.id)).toBe(false);

      // A second replay of the same letter is refused until it fails again.
      const again = await api.request(`/admin/dead-letters/${letter.id}/replay`, { method: 'POST', headers: admin });
      expect(again.status).toBe(409);
      await problemOf(again);
    } finally {
      down.add('/down');
    }
  });

  it('replays a dead letter stored before its body was kept, from the payload', async () => {
    const { user, eventId } = await createUser();
    const letter = await eventually(async () => {
      const found = (await deadLetters()).find((d) => d.eventId === eventId);
      expect(found).toBeDefined();
      return found!;
    });
    // What a row written before migration 1764200000000 looks like.
    await db.query(`UPDATE webhook_dead_letters SET body = NULL WHERE id = $1`, [letter.id]);
    down.delete('/down');
    try {
      expect(
        (await api.request(`/admin/dead-letters/${letter.id}/replay`, { method: 'POST', headers: admin })).status,
      ).toBe(202);
      const delivered = await eventually(() => {
        const found = receiver.deliveries('/down', eventId).filter((d) => d.status === 204);
        expect(found).toHaveLength(1);
        return found[0]!;
      });
      expect(delivered.body).toEqual({ id: eventId, type: 'user.created', occurredAt: expect.any(String), data: user });
    } finally {
      down.add('/down');
    }
  });

  it('a replay that fails again is listed again, attempts adding up', async () => {
    const { eventId } = await createUser();
    const letter = await eventually(async () => {
      const found = (await deadLetters()).find((d) => d.eventId === eventId);
      expect(found).toBeDefined();
      return found!;
    });
    expect(
      (await api.request(`/admin/dead-letters/${letter.id}/replay`, { method: 'POST', headers: admin })).status,
    ).toBe(202);
    await eventually(async () => {
      const found = (await deadLetters()).find((d) => d.id === letter.id);
      expect(found?.attempts).toBe(2 * ATTEMPTS);
    });
    expect(new Set(receiver.deliveries('/down', eventId).map((d) => d.webhookId))).toEqual(new Set([eventId]));
  });

  it('answers 404 for an unknown dead letter and 400 for a malformed id', async () => {
    const unknown = await api.request(`/admin/dead-letters/${randomUUID()}/replay`, { method: 'POST', headers: admin });
    expect(unknown.status).toBe(404);
    await problemOf(unknown);
    const malformed = await api.request('/admin/dead-letters/not-a-uuid/replay', { method: 'POST', headers: admin });
    expect(malformed.status).toBe(400);
    await problemOf(malformed);
  });

  it('refuses (409) to replay a dead letter whose receiver is no longer in WEBHOOK_URLS', async () => {
    const [row] = await db.query<{ id: string }>(
      `INSERT INTO webhook_dead_letters (event_id, type, url, payload, body, attempts, last_error, failed_at)
       VALUES (gen_random_uuid(), 'user.created', 'http://127.0.0.1:9/removed', '{}', '{}', 1, 'HTTP 500', now())
       RETURNING id`,
    );
    const refused = await api.request(`/admin/dead-letters/${row!.id}/replay`, { method: 'POST', headers: admin });
    expect(refused.status).toBe(409);
    expect((await problemOf(refused)).detail).toMatch(/no longer configured/);
    // Still listed, for the operator to see.
    expect((await deadLetters()).some((d) => d.id === row!.id)).toBe(true);
  });

  it('delivers every kind of event, and counts deliveries by outcome', async () => {
    const created = await api.request('/v1/products', {
      method: 'POST',
      json: { sku: `WH-${randomUUID().slice(0, 8)}`, name: 'Hooked', priceCents: 1, currency: 'EUR' },
    });
    const product = (await created.json()) as { id: string };
    expect((await api.request(`/v1/products/${product.id}`, { method: 'DELETE' })).status).toBe(204);
    await eventually(() => {
      const types = receiver.received
        .filter((r) => r.path === '/ok' && r.body.data.id === product.id)
        .map((r) => r.body.type);
      expect(types.sort()).toEqual(['product.created', 'product.deleted']);
    });
    // The earlier tests delivered, retried, met a 410 and dead-lettered.
    const metrics = await (await api.request('/metrics')).text();
    for (const outcome of ['delivered', 'retried', 'gone', 'dead_lettered']) {
      expect(metrics).toMatch(new RegExp(`^webhook_deliveries_total\\{outcome="${outcome}"\\} [1-9]`, 'm'));
    }
  });
});
