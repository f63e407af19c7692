import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createRedisBackend, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxSweeper } from '../../src/infra/outbox/outbox.sweeper.js';
import { EVENTS_QUEUE } from '../../src/infra/outbox/index.js';
import { enqueue, QueueDriver } from '../../src/infra/queue/index.js';
import { NOTIFICATIONS_QUEUE } from '../../src/modules/notifications/notifications.queue.js';
import { DELIVER_WEBHOOK, REPLAY_WEBHOOK } from '../../src/modules/notifications/webhooks/webhook-delivery.job.js';
import { WebhookFanOutSubscriber } from '../../src/modules/notifications/webhooks/webhook-fan-out.subscriber.js';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { deleteKeys } from '../support/redis-keys.js';
import { TEST_REDIS_URL } from '../support/services.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * A delivery job carries an event id and a receiver id, never what is signed or where it goes:
 * someone who can write to Redis cannot make the service sign a payload of their choosing or
 * send anything to a URL of their choosing. Real BullMQ on Redis, real receivers that verify
 * every signature with `standardwebhooks`.
 */

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const RUN = randomUUID().slice(0, 8);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A producer of our own on the app's Redis keys: what anyone with write access to Redis has. */
function rawQueue(prefix: string, name: string): Queue {
  const { hostname, port } = new URL(TEST_REDIS_URL);
  return new Queue(
    name,
    { connection: { host: hostname, port: Number(port || 6379) }, prefix: `${prefix}:bull` },
    createRedisBackend,
  );
}

async function failedForGood(queue: Queue, jobId: string): Promise<void> {
  await eventually(async () => expect(await queue.getJobState(jobId)).toBe('failed'));
}

describe('forged delivery jobs', () => {
  const PREFIX = `t-forgery-${RUN}`;
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  /** Not in WEBHOOK_URLS: it must never hear from us. It would verify a signature made with our secret. */
  let foreign: WebhookReceiver;
  let api: TestApp;
  let notifications: Queue;
  let slowIsDown = true;

  beforeAll(async () => {
    db = await createTestDatabase('webhook_forgery');
    receiver = await WebhookReceiver.start(SECRET);
    receiver.respond = (path) => (path === '/slow' && slowIsDown ? 500 : 204);
    foreign = await WebhookReceiver.start(SECRET);
    api = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      QUEUE_DRIVER: 'bullmq',
      API_KEYS: undefined,
      WEBHOOK_URLS: ['/a', '/slow'].map((p) => `${receiver.baseUrl}${p}`).join(','),
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_MAX_ATTEMPTS: '50',
      WEBHOOK_BACKOFF_BASE_MS: '100',
      WEBHOOK_BACKOFF_MAX_MS: '300',
      // The prune runs when a test calls sweep(), with a retention far shorter than any delivery schedule.
      OUTBOX_RETENTION_SECONDS: '1',
      OUTBOX_SWEEP_INTERVAL_MS: '600000',
    });
    notifications = rawQueue(PREFIX, NOTIFICATIONS_QUEUE.name);
    // The first sweep records the queue storage's epoch (and would hand recent events over again): done now, not mid-test.
    await api.app.get(OutboxSweeper).sweep();
  });

  afterAll(async () => {
    await notifications?.close();
    await api?.close();
    await receiver?.stop();
    await foreign?.stop();
    await db?.drop();
    await deleteKeys(PREFIX);
  });

  async function createUser(): Promise<{ user: Record<string, unknown>; eventId: string }> {
    const response = await api.request('/v1/users', {
      method: 'POST',
      json: { email: `f-${randomUUID()}@example.com`, name: 'Forgery Target' },
    });
    expect(response.status).toBe(201);
    const user = (await response.json()) as Record<string, unknown> & { id: string };
    const [event] = await db.query<{ id: string }>(`SELECT id FROM outbox_events WHERE aggregate_id = $1`, [user.id]);
    return { user, eventId: event!.id };
  }

  async function addForged(data: unknown, name: string = DELIVER_WEBHOOK.name): Promise<string> {
    const job = await notifications.add(name, data, { jobId: `forged-${randomUUID()}`, attempts: 1 });
    return job.id!;
  }

  it('sends nothing to a URL the job names, in any shape, and signs nothing for it', async () => {
    const { eventId } = await createUser();
    const evil = `${foreign.baseUrl}/steal`;
    const ids = [
      await addForged({ eventId, receiver: sha256(evil) }),
      // The shape of earlier releases: the URL and the payload in the job.
      await addForged({
        event: { id: eventId, type: 'user.created', occurredAt: new Date().toISOString(), data: { admin: true } },
        url: evil,
      }),
      await addForged({ event: { id: eventId }, url: evil, body: '{"forged":true}' }),
    ];
    for (const id of ids) await failedForGood(notifications, id);
    expect(foreign.received).toEqual([]);
    expect(foreign.rejected).toEqual([]);
  });

  it('signs only events it committed: a made-up event for a configured receiver is sent nowhere', async () => {
    const a = `${receiver.baseUrl}/a`;
    const madeUp = randomUUID();
    const ids = [
      await addForged({ eventId: madeUp, receiver: sha256(a) }),
      await addForged({
        event: { id: madeUp, type: 'user.created', occurredAt: new Date().toISOString(), data: { forged: true } },
        url: a,
      }),
      await addForged({ event: { id: madeUp }, url: a, body: '{"forged":true}' }),
      await addForged({ deadLetterId: randomUUID() }, REPLAY_WEBHOOK.name),
      await addForged({ anything: 'else' }),
    ];
    for (const id of ids) await failedForGood(notifications, id);
    expect(receiver.received.filter((r) => r.webhookId === madeUp)).toEqual([]);
    expect(receiver.received.some((r) => JSON.stringify(r.body).includes('forged'))).toBe(false);
    const metrics = await (await api.request('/metrics')).text();
    expect(metrics).toMatch(/^webhook_deliveries_total\{outcome="dropped"\} ([5-9]|\d\d+)$/m);
  });

  it('an old-shape job for a real event sends what was committed, not the data it carries', async () => {
    const { user, eventId } = await createUser();
    const a = `${receiver.baseUrl}/a`;
    const id = await addForged({
      event: { id: eventId, type: 'user.deleted', occurredAt: '2000-01-01T00:00:00.000Z', data: { forged: true } },
      url: a,
    });
    await eventually(async () => expect(await notifications.getJobState(id)).toBe('completed'));
    const deliveries = receiver.deliveries('/a', eventId);
    expect(deliveries.length).toBeGreaterThanOrEqual(2); // the real one and the old-shape job's
    for (const d of deliveries)
      expect(d.body).toEqual({ id: eventId, type: 'user.created', occurredAt: expect.any(String), data: user });
    expect(receiver.rejected).toEqual([]);
  });

  it('a prune while a delivery is pending keeps its event; the delivery arrives, then the event is pruned', async () => {
    slowIsDown = true;
    const { user, eventId } = await createUser();
    await eventually(() => expect(receiver.deliveries('/slow', eventId).length).toBeGreaterThanOrEqual(2));
    // Older than the 1 s retention, delivered to /a, still pending for /slow.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // A control: an old event nothing holds, which the same prune must delete.
    const [control] = await db.query<{ id: string }>(
      `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at, dispatched_at)
       VALUES (gen_random_uuid(), 'test.control', 'test', gen_random_uuid(), '{}', now() - interval '1 hour', now() - interval '1 hour')
       RETURNING id`,
    );
    const sweeper = api.app.get(OutboxSweeper);
    await eventually(async () => {
      await sweeper.sweep();
      expect(await db.query(`SELECT 1 FROM outbox_events WHERE id = $1`, [control!.id])).toHaveLength(0);
    });
    expect(await db.query(`SELECT 1 FROM outbox_events WHERE id = $1`, [eventId])).toHaveLength(1);

    slowIsDown = false;
    const delivered = await eventually(() => {
      const found = receiver.deliveries('/slow', eventId).filter((d) => d.status === 204);
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(delivered.body).toEqual({ id: eventId, type: 'user.created', occurredAt: expect.any(String), data: user });
    // Nothing holds it any more: the next prune deletes it.
    await eventually(async () => {
      await sweeper.sweep();
      expect(await db.query(`SELECT 1 FROM outbox_events WHERE id = $1`, [eventId])).toHaveLength(0);
    });
  });

  it('releases a hold whose job the queue no longer has (lost with its storage), so the event is pruned', async () => {
    const [event] = await db.query<{ id: string }>(
      `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at, dispatched_at)
       VALUES (gen_random_uuid(), 'test.lost', 'test', gen_random_uuid(), '{}', now() - interval '1 hour', now() - interval '1 hour')
       RETURNING id`,
    );
    await db.query(
      `INSERT INTO outbox_event_holds (event_id, job_id, created_at) VALUES ($1, 'webhook.lost-job', now() - interval '1 hour')`,
      [event!.id],
    );
    const sweeper = api.app.get(OutboxSweeper);
    await eventually(async () => {
      await sweeper.sweep();
      expect(await db.query(`SELECT 1 FROM outbox_events WHERE id = $1`, [event!.id])).toHaveLength(0);
    });
    expect(await db.query(`SELECT 1 FROM outbox_event_holds WHERE event_id = $1`, [event!.id])).toHaveLength(0);
  });
});

describe('WEBHOOK_URLS changed between enqueue and delivery', () => {
  const PREFIX = `t-forgery-reorder-${RUN}`;
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let api: TestApp | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('webhook_reorder');
    receiver = await WebhookReceiver.start(SECRET);
  });

  afterAll(async () => {
    await api?.close();
    await receiver?.stop();
    await db?.drop();
    await deleteKeys(PREFIX);
  });

  const env = (urls: string[], workers: boolean) => ({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    QUEUE_DRIVER: 'bullmq',
    API_KEYS: undefined,
    WORKERS: String(workers),
    WEBHOOK_URLS: urls.map((p) => `${receiver.baseUrl}${p}`).join(','),
    WEBHOOK_SECRET: SECRET,
    OUTBOX_RETENTION_SECONDS: '1',
    OUTBOX_SWEEP_INTERVAL_MS: '600000',
  });

  it('reordering and editing the list redirects nothing: each job goes to its own URL or nowhere', async () => {
    // Enqueue under ["/a", "/b"], with no worker running.
    const producer = await bootTestApp(env(['/a', '/b'], false));
    let eventId: string;
    try {
      const sweeper = producer.app.get(OutboxSweeper);
      await sweeper.sweep(); // records the queue storage's epoch before the event exists
      const created = await producer.request('/v1/users', {
        method: 'POST',
        json: { email: `r-${randomUUID()}@example.com`, name: 'Reordered' },
      });
      expect(created.status).toBe(201);
      const [row] = await db.query<{
        id: string;
        type: string;
        aggregate_type: string;
        aggregate_id: string;
        payload: unknown;
        occurred_at: Date;
      }>(`SELECT * FROM outbox_events`);
      eventId = row!.id;
      // Its dispatch job has not run (no worker): a prune past the 1 s retention must keep the event.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const [control] = await db.query<{ id: string }>(
        `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at, dispatched_at)
         VALUES (gen_random_uuid(), 'test.control', 'test', gen_random_uuid(), '{}', now() - interval '1 hour', now() - interval '1 hour')
         RETURNING id`,
      );
      await eventually(async () => {
        await sweeper.sweep();
        expect(await db.query(`SELECT 1 FROM outbox_events WHERE id = $1`, [control!.id])).toHaveLength(0);
      });
      expect(await db.query(`SELECT 1 FROM outbox_events WHERE id = $1`, [eventId])).toHaveLength(1);
      const event = {
        id: row!.id,
        type: row!.type,
        aggregateType: row!.aggregate_type,
        aggregateId: row!.aggregate_id,
        occurredAt: new Date(row!.occurred_at).toISOString(),
        payload: row!.payload,
      };
      // What the dispatch job's fan-out would enqueue under this configuration.
      const queue = producer.app.get<QueueDriver>(QueueDriver);
      for (const job of producer.app.get(WebhookFanOutSubscriber).jobsFor(event)) {
        await enqueue(queue, job.job, job.data, job.opts);
      }
    } finally {
      await producer.close();
    }
    // The pending dispatch job would fan out again under the new list; this test is about the delivery jobs.
    const events = rawQueue(PREFIX, EVENTS_QUEUE.name);
    await events.obliterate({ force: true });
    await events.close();

    // Deliver under ["/c", "/a"]: "/b" was replaced by "/c" and the order changed.
    api = await bootTestApp(env(['/c', '/a'], true));
    await eventually(() => expect(receiver.deliveries('/a', eventId)).toHaveLength(1));
    const notifications = rawQueue(PREFIX, NOTIFICATIONS_QUEUE.name);
    try {
      const jobs = await notifications.getJobs(['completed', 'failed']);
      await eventually(async () => {
        const states = await Promise.all(jobs.map(async (j) => notifications.getJobState(j.id!)));
        expect(states.sort()).toEqual(['completed', 'failed']);
      });
    } finally {
      await notifications.close();
    }
    expect(receiver.deliveries('/c', eventId)).toEqual([]);
    expect(receiver.deliveries('/b', eventId)).toEqual([]);
    expect(receiver.rejected).toEqual([]);
  });
});
