import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import type { AfterCommitListener, UnitOfWork } from './unit-of-work.js';
import type { QueueDriver } from '../queue/queue.types.js';
import type { DomainEvent } from './domain-event.js';
import { OutboxRelay } from './outbox.relay.js';

function event(): DomainEvent {
  return {
    id: randomUUID(),
    type: 'product.updated',
    aggregateType: 'product',
    aggregateId: randomUUID(),
    occurredAt: new Date().toISOString(),
    payload: {},
  };
}

/** The relay over fake ports: a unit of work whose commits the test fires, a queue and a database that record calls. */
function relayWithFakes(options: { failUpdates?: boolean } = {}) {
  const attempts: string[][] = [];
  let listener: AfterCommitListener | undefined;
  const unitOfWork = { onCommitted: (l: AfterCommitListener) => (listener = l) } as unknown as UnitOfWork;
  const enqueued: string[] = [];
  const queue = {
    add: (_q: string, _n: string, _d: unknown, o: { jobId: string }) => Promise.resolve(void enqueued.push(o.jobId)),
  } as unknown as QueueDriver;
  const updates: string[][] = [];
  const dataSource = {
    query: async (_sql: string, [ids]: [string[]]) => {
      attempts.push(ids);
      await sleep(5); // a commit takes a while: writes arriving meanwhile join the next update
      if (options.failUpdates) throw new Error('database unavailable');
      updates.push(ids);
    },
  } as unknown as DataSource;
  const relay = new OutboxRelay(unitOfWork, queue, { manager: dataSource } as unknown as DataSource);
  relay.onModuleInit();
  const commit = (events: DomainEvent[]) => listener!({ events, changes: [] });
  return { relay, commit, enqueued, updates, attempts, options };
}

describe('OutboxRelay', () => {
  it('marks the events of concurrent commits dispatched in batches, each exactly once', async () => {
    const { relay, commit, enqueued, updates } = relayWithFakes();
    const events = Array.from({ length: 50 }, event);
    await Promise.all(events.map((e) => commit([e])));
    await relay.drain();
    expect(enqueued.sort()).toEqual(events.map((e) => e.id).sort());
    expect(updates.flat().sort()).toEqual(events.map((e) => e.id).sort());
    expect(updates.length).toBeLessThan(events.length);
  });

  it('marks a commit that arrives after a batch finished in an update of its own', async () => {
    const { relay, commit, updates } = relayWithFakes();
    const first = event();
    await commit([first]);
    await relay.drain();
    const second = event();
    await commit([second]);
    await relay.drain();
    expect(updates).toEqual([[first.id], [second.id]]);
  });

  it('leaves events undispatched (for the sweeper) when the update fails, and marks later ones', async () => {
    const { relay, commit, enqueued, updates, attempts, options } = relayWithFakes({ failUpdates: true });
    const failed = [event(), event()];
    await commit(failed);
    await relay.drain();
    expect(enqueued).toHaveLength(2);
    expect(attempts).toEqual([failed.map((e) => e.id)]); // tried once, not retried: the sweeper's job
    expect(updates).toEqual([]);
    options.failUpdates = false;
    const later = event();
    await commit([later]);
    await relay.drain();
    expect(updates).toEqual([[later.id]]);
  });
});
