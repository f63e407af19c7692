import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Aggregate } from '../../src/infra/outbox/aggregate.js';
import { UnitOfWork, type CommittedTransaction } from '../../src/infra/outbox/unit-of-work.js';
import { type ProductResponseDto, toProductResponse } from '../../src/modules/products/dto/product-response.dto.js';
import { ProductEntity } from '../../src/modules/products/product.entity.js';
import { productAggregate } from '../../src/modules/products/product.events.js';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let api: TestApp;
const committed: CommittedTransaction[] = [];

beforeAll(async () => {
  db = await createTestDatabase('outbox');
  api = await bootTestApp({ DATABASE_URL: db.url, REDIS_URL: undefined, API_KEYS: undefined });
  api.app.get(UnitOfWork).onCommitted(async (tx) => {
    committed.push(tx);
    return Promise.resolve();
  });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

interface EventRow {
  id: string;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  payload: Record<string, unknown>;
  dispatched_at: Date | null;
}

const eventsFor = (id: string): Promise<EventRow[]> =>
  db.query<EventRow>('SELECT * FROM outbox_events WHERE aggregate_id = $1 ORDER BY occurred_at, type', [id]);

describe('transactional outbox', () => {
  it('records exactly one event per successful write, with the entity as the API returns it', async () => {
    const created = await api.request('/v1/products', {
      method: 'POST',
      json: { sku: `OB-${randomUUID().slice(0, 8)}`, name: 'Outboxed', priceCents: 5, currency: 'EUR' },
    });
    const product = (await created.json()) as Record<string, unknown> & { id: string };
    let events = await eventsFor(product.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'product.created',
      aggregate_type: 'product',
      aggregate_id: product.id,
      payload: product,
    });

    const updated = (await (
      await api.request(`/v1/products/${product.id}`, { method: 'PATCH', json: { stock: 3 } })
    ).json()) as Record<string, unknown>;
    expect((await api.request(`/v1/products/${product.id}`, { method: 'DELETE' })).status).toBe(204);
    events = await eventsFor(product.id);
    expect(events.map((e) => e.type)).toEqual(['product.created', 'product.updated', 'product.deleted']);
    expect(events[1]!.payload).toEqual(updated);
    expect(events[2]!.payload).toEqual(updated);

    const user = (await (
      await api.request('/v1/users', { method: 'POST', json: { email: `ob-${randomUUID()}@example.com`, name: 'O' } })
    ).json()) as { id: string };
    expect((await eventsFor(user.id)).map((e) => e.type)).toEqual(['user.created']);
  });

  it('a failing write (unique violation) leaves neither a row nor an event', async () => {
    const sku = `DUP-${randomUUID().slice(0, 8)}`;
    await api.request('/v1/products', { method: 'POST', json: { sku, name: 'First', priceCents: 1, currency: 'EUR' } });
    const before = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox_events');
    const duplicate = await api.request('/v1/products', {
      method: 'POST',
      json: { sku: sku.toLowerCase(), name: 'Second', priceCents: 1, currency: 'EUR' },
    });
    expect(duplicate.status).toBe(409);
    const after = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox_events');
    expect(after[0]!.n).toBe(before[0]!.n);
    expect(await db.query('SELECT 1 FROM products WHERE name = $1', ['Second'])).toHaveLength(0);
  });

  it('a rolled-back unit of work writes nothing and runs no after-commit work', async () => {
    const unitOfWork = api.app.get(UnitOfWork);
    const notified = committed.length;
    let ranAfterCommit = false;
    const sku = `RB-${randomUUID().slice(0, 8)}`;
    let insertedId: string | undefined;
    await expect(
      unitOfWork.run(async (tx) => {
        const [row] = await tx.manager.query<Array<{ id: string }>>(
          `INSERT INTO products (sku, name, price_cents, currency) VALUES ($1, 'Rolled back', 1, 'EUR') RETURNING id`,
          [sku],
        );
        insertedId = row!.id;
        tx.emit(productAggregate, 'created', { id: insertedId, version: 1 } as ProductResponseDto);
        tx.afterCommit(() => {
          ranAfterCommit = true;
        });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.query('SELECT 1 FROM products WHERE sku = $1', [sku])).toHaveLength(0);
    expect(insertedId).toBeDefined();
    expect(await eventsFor(insertedId!)).toHaveLength(0);
    expect(ranAfterCommit).toBe(false);
    expect(committed.length).toBe(notified);
  });

  it('rolls the row back when its event cannot be recorded (row and event commit together or not at all)', async () => {
    const unitOfWork = api.app.get(UnitOfWork);
    const sku = `EV-${randomUUID().slice(0, 8)}`;
    await expect(
      unitOfWork.run(async (tx) => {
        await tx.manager.query(
          `INSERT INTO products (sku, name, price_cents, currency) VALUES ($1, 'No event', 1, 'EUR')`,
          [sku],
        );
        // aggregate_id is a uuid column: this event's insert fails after the work has succeeded.
        tx.emit(productAggregate, 'created', { id: 'not-a-uuid', version: 1 } as ProductResponseDto);
      }),
    ).rejects.toThrow();
    expect(await db.query('SELECT 1 FROM products WHERE sku = $1', [sku])).toHaveLength(0);
  });

  it('runs after-commit work and listeners only once the transaction has committed', async () => {
    const unitOfWork = api.app.get(UnitOfWork);
    let visibleToOthers: boolean | undefined;
    const before = committed.length;
    const product = await unitOfWork.run(async (tx) => {
      const entity = tx.manager.create(ProductEntity, {
        sku: `AC-${randomUUID().slice(0, 8)}`,
        name: 'After',
        priceCents: 1,
        currency: 'EUR',
      });
      const saved = await tx.manager.save(entity);
      tx.emit(productAggregate, 'created', toProductResponse(saved));
      tx.afterCommit(async () => {
        // Another connection sees the row: we really are after the commit.
        visibleToOthers = (await db.query('SELECT 1 FROM products WHERE id = $1', [saved.id])).length === 1;
      });
      return saved;
    });
    expect(visibleToOthers).toBe(true);
    expect(committed.length).toBe(before + 1);
    expect(committed.at(-1)!.events.map((e) => e.aggregateId)).toEqual([product.id]);
  });

  it('refuses to emit an aggregate no module declares (nor a copy of a declared one), rolling the write back', async () => {
    const unitOfWork = api.app.get(UnitOfWork);
    const undeclared: Aggregate<ProductResponseDto, 'gizmo'> = { type: 'gizmo' };
    const copy = { ...productAggregate };
    for (const aggregate of [undeclared, copy]) {
      const sku = `UD-${randomUUID().slice(0, 8)}`;
      await expect(
        unitOfWork.run(async (tx) => {
          const [row] = await tx.manager.query<Array<{ id: string }>>(
            `INSERT INTO products (sku, name, price_cents, currency) VALUES ($1, 'Undeclared', 1, 'EUR') RETURNING id`,
            [sku],
          );
          tx.emit(aggregate, 'created', { id: row!.id, version: 1 } as ProductResponseDto);
        }),
      ).rejects.toThrow(`Aggregate "${aggregate.type}" is emitted but not declared`);
      expect(await db.query('SELECT 1 FROM products WHERE sku = $1', [sku])).toHaveLength(0);
    }
  });
});
