import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnitOfWork } from '../../src/infra/outbox/unit-of-work.js';
import type { ProductResponseDto } from '../../src/modules/products/dto/product-response.dto.js';
import { productAggregate } from '../../src/modules/products/product.events.js';
import { OutboxSweeper, SWEEPER_LOCK } from '../../src/infra/outbox/outbox.sweeper.js';
import { QueueDriver } from '../../src/infra/queue/queue.types.js';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { RedisServer } from '../support/redis-server.js';

interface OutboxRow {
  id: string;
  type: string;
  dispatched_at: Date | null;
}

const product = () => ({ sku: `OBX-${randomUUID().slice(0, 12)}`, name: 'Outbox', priceCents: 100, currency: 'EUR' });

describe('outbox relay and sweeper (BullMQ on a private redis-server)', () => {
  let db: TestDatabase;
  let redis: RedisServer;
  let api: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase('outbox_relay');
    redis = await RedisServer.start();
    api = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 't-outbox-relay',
      QUEUE_DRIVER: 'bullmq',
      API_KEYS: undefined,
      WEBHOOK_URLS: undefined,
      OUTBOX_SWEEP_INTERVAL_MS: '200',
      OUTBOX_SWEEP_AFTER_MS: '500',
    });
  });

  afterAll(async () => {
    await api?.close();
    await redis?.stop();
    await db?.drop();
  });

  const eventsOf = (aggregateId: string) =>
    db.query<OutboxRow>(
      `SELECT id, type, dispatched_at FROM outbox_events WHERE aggregate_id = $1 ORDER BY occurred_at`,
      [aggregateId],
    );

  /** The queue's job under this id (GET /v1/jobs shows no internal jobs, so ask the driver). */
  const queueJob = (id: string) => api.app.get<QueueDriver>(QueueDriver).getJob(id);

  /** The event's dispatch-event job has run: the queue has it, under the event id. */
  const delivered = (eventId: string) =>
    eventually(async () => {
      const job = await queueJob(eventId);
      expect(job).toMatchObject({ name: 'dispatch-event', state: 'completed' });
      return job;
    }, 30_000);

  it('hands a committed event to the queue (job id = event id) and marks it dispatched', async () => {
    const created = await api.request('/v1/products', { method: 'POST', json: product() });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const [event] = await eventsOf(id);
    expect(event?.type).toBe('product.created');
    await delivered(event!.id);
    await eventually(async () => expect((await eventsOf(id))[0]?.dispatched_at).not.toBeNull());
  });

  it('acknowledges writes while Redis is down, and delivers their events once it is back', async () => {
    await redis.stop();
    try {
      const created = await api.request('/v1/products', { method: 'POST', json: product() });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const updated = await api.request(`/v1/products/${id}`, { method: 'PATCH', json: { stock: 7 } });
      expect(updated.status).toBe(200);

      const events = await eventsOf(id);
      expect(events.map((e) => e.type)).toEqual(['product.created', 'product.updated']);
      expect(events.every((e) => e.dispatched_at === null)).toBe(true);
      const metrics = await (await api.request('/metrics')).text();
      expect(Number(/^outbox_lag_seconds (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);

      await redis.resume(); // an empty Redis: nothing survived the outage, the outbox did
      for (const event of events) await delivered(event.id);
      await eventually(async () => expect((await eventsOf(id)).every((e) => e.dispatched_at !== null)).toBe(true));
    } finally {
      await redis.resume().catch(() => undefined);
    }
  });

  it('hands recent events over again when Redis restarts empty and has lost their jobs', async () => {
    const created = await api.request('/v1/products', { method: 'POST', json: product() });
    const { id } = (await created.json()) as { id: string };
    const [event] = await eventsOf(id);
    await delivered(event!.id);
    const firstDispatch = await eventually(async () => {
      const at = (await eventsOf(id))[0]?.dispatched_at;
      expect(at).not.toBeNull();
      return at!;
    });

    // The sweeper has recorded the current storage epoch (it reads it on every sweep)...
    const client = new Redis(redis.url);
    try {
      const current = await client.get('t-outbox-relay:bull:storage-epoch');
      await eventually(async () => {
        const [state] = await db.query<{ value: string }>(
          `SELECT value FROM outbox_state WHERE key = 'queue_storage_epoch'`,
        );
        expect(state?.value).toBe(await client.get('t-outbox-relay:bull:storage-epoch'));
        expect(current).not.toBeNull();
      });
    } finally {
      client.disconnect();
    }
    // ...then Redis dies and comes back empty: the completed dispatch job is gone.
    await redis.stop();
    await redis.resume();
    // The sweeper sees a new storage epoch and hands the event over again, under the same job id.
    await eventually(async () =>
      expect((await eventsOf(id))[0]!.dispatched_at!.getTime()).toBeGreaterThan(firstDispatch.getTime()),
    );
    await delivered(event!.id);
  });

  it('records no event for a rolled-back write', async () => {
    let emitted = '';
    await expect(
      api.app.get(UnitOfWork).run(async (tx) => {
        const state = { id: randomUUID(), version: 1 } as ProductResponseDto; // never committed
        emitted = tx.emit(productAggregate, 'created', state).id;
        await tx.manager.query('SELECT 1');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await db.query(`SELECT id FROM outbox_events WHERE id = $1`, [emitted])).toEqual([]);
    await api.app.get(OutboxSweeper).sweep();
    expect(await queueJob(emitted)).toBeUndefined();

    // A write refused by a constraint (duplicate sku → 409) rolls back its event too.
    const body = product();
    expect((await api.request('/v1/products', { method: 'POST', json: body })).status).toBe(201);
    const before = (await db.query<{ before: string }>(`SELECT count(*) AS before FROM outbox_events`))[0]!.before;
    expect((await api.request('/v1/products', { method: 'POST', json: body })).status).toBe(409);
    const after = (await db.query<{ after: string }>(`SELECT count(*) AS after FROM outbox_events`))[0]!.after;
    expect(after).toBe(before);
  });

  it('sweeps up an event the relay never handed over (a crash between commit and enqueue)', async () => {
    const id = randomUUID();
    await db.query(
      `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at)
       VALUES ($1, 'product.updated', 'product', $2, '{}', now() - interval '10 seconds')`,
      [id, randomUUID()],
    );
    await delivered(id);
    await eventually(async () => {
      const [row] = await db.query<OutboxRow>(`SELECT dispatched_at FROM outbox_events WHERE id = $1`, [id]);
      expect(row?.dispatched_at).not.toBeNull();
    });
  });

  it('sweeps on one instance at a time (advisory lock)', async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [SWEEPER_LOCK]);
      const id = randomUUID();
      await db.query(
        `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at)
         VALUES ($1, 'product.updated', 'product', $2, '{}', now() - interval '10 seconds')`,
        [id, randomUUID()],
      );
      // Another instance holds the lock: this one hands over nothing, however often it tries.
      expect(await api.app.get(OutboxSweeper).sweep()).toBe(0);
      expect(await queueJob(id)).toBeUndefined();
      await holder.query('SELECT pg_advisory_unlock($1)', [SWEEPER_LOCK]);
      await delivered(id);
    } finally {
      await holder.end();
    }
  });
});

describe('outbox retention', () => {
  let db: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase('outbox_prune');
    api = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: undefined,
      QUEUE_DRIVER: 'memory',
      API_KEYS: undefined,
      WEBHOOK_URLS: undefined,
      OUTBOX_SWEEP_INTERVAL_MS: '200',
      OUTBOX_RETENTION_SECONDS: '1',
    });
  });

  afterAll(async () => {
    await api?.close();
    await db?.drop();
  });

  it('prunes dispatched events after OUTBOX_RETENTION_SECONDS, never undispatched ones', async () => {
    const created = await api.request('/v1/products', { method: 'POST', json: product() });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const undispatched = randomUUID();
    // Far in the future for the sweeper's age check, so it stays undispatched: never pruned.
    await db.query(
      `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at)
       VALUES ($1, 'product.updated', 'product', $2, '{}', now() + interval '1 hour')`,
      [undispatched, randomUUID()],
    );
    await eventually(
      async () => expect(await db.query(`SELECT id FROM outbox_events WHERE aggregate_id = $1`, [id])).toEqual([]),
      30_000,
    );
    expect(await db.query(`SELECT id FROM outbox_events WHERE id = $1`, [undispatched])).toHaveLength(1);
  });
});
