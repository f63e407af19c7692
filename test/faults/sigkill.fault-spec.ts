import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import type { ServiceProcess } from '../support/service-process.js';
import { FaultStack } from './support/fault-stack.js';
import { send } from './support/http.js';

// Scenario 3: SIGKILL right after the ack. An instance answers 201 to a user creation and is
// killed at once (no shutdown hooks run). FAULT_SIGKILL_ROUNDS rounds (default 3), each on a
// fresh instance, while a second instance keeps running.
// Must hold: the user.created webhook (one webhook-id per event, whatever the retries) and the
// welcome email still arrive, delivered by the other instance (queue stalled-job recovery or
// outbox sweeper) or by the restarted one.

const ROUNDS = Number(process.env.FAULT_SIGKILL_ROUNDS ?? 3);

let stack: FaultStack;
let survivor: ServiceProcess;

beforeAll(async () => {
  stack = await FaultStack.start({ redis: true, webhooks: true, smtp: true });
  survivor = await stack.startInstance();
});

afterAll(async () => {
  await stack?.close();
});

describe('SIGKILL right after a 201', () => {
  it('still delivers the user.created webhook and the welcome email', async () => {
    const figures = { rounds: 0, undispatchedAfterKill: 0, webhookDeliveries: 0, distinctWebhookIds: 0, emails: 0, duplicateEmails: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const victim = await stack.startInstance();
      const email = `kill-${round}-${randomUUID()}@example.com`;
      const created = await send(`${victim.url}/v1/users`, { method: 'POST', json: { email, name: `Kill ${round}` } });
      victim.child.kill('SIGKILL');
      expect(created.status).toBe(201);
      const user = created.json as { id: string };
      expect((await victim.exited).signal).toBe('SIGKILL');
      figures.rounds++;
      const [event] = await stack.query<{ id: string; dispatched: boolean }>(
        `SELECT id, dispatched_at IS NOT NULL AS dispatched FROM outbox_events WHERE aggregate_id = $1 AND type = 'user.created'`,
        [user.id],
      );
      expect(event, 'the event was committed with the user').toBeDefined();
      if (!event!.dispatched) figures.undispatchedAfterKill++;

      await eventually(() => {
        const deliveries = stack.receiver!.received.filter((r) => r.body.type === 'user.created' && r.body.data.id === user.id);
        expect(deliveries.length).toBeGreaterThan(0);
        expect(new Set(deliveries.map((d) => d.webhookId))).toEqual(new Set([event!.id]));
        expect(stack.smtp!.received.filter((m) => m.to.includes(email)).length).toBeGreaterThan(0);
      }, 60_000, 100);
      const deliveries = stack.receiver!.received.filter((r) => r.body.type === 'user.created' && r.body.data.id === user.id);
      figures.webhookDeliveries += deliveries.length;
      figures.distinctWebhookIds += new Set(deliveries.map((d) => d.webhookId)).size;
      const emails = stack.smtp!.received.filter((m) => m.to.includes(email)).length;
      figures.emails += emails;
      figures.duplicateEmails += emails - 1;
    }
    expect(survivor.child.exitCode).toBeNull();
    console.log(
      `[faults:sigkill] rounds=${figures.rounds} undispatchedAfterKill=${figures.undispatchedAfterKill} webhookDeliveries=${figures.webhookDeliveries} distinctWebhookIds=${figures.distinctWebhookIds} emails=${figures.emails} duplicateEmails=${figures.duplicateEmails}`,
    );
  });
});
