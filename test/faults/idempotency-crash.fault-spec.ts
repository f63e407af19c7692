import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { FaultStack } from './support/fault-stack.js';
import { send } from './support/http.js';

// Scenario 7 (issue 18): SIGKILL after the commit of an Idempotency-Key request, before its
// answer. The preloaded hook (support/kill-after-idempotent-commit.mjs) kills the built instance
// the moment PostgreSQL acknowledges that COMMIT. Must hold: the user, its key row (with the
// answer) and its event were committed together; the client's retry with the same key, on the
// restarted instance, replays the 201 instead of creating a second user; exactly one row and one
// event exist; the event's webhook still arrives (the outbox sweeper), under one webhook-id.

const KILL_HOOK = fileURLToPath(new URL('./support/kill-after-idempotent-commit.mjs', import.meta.url));

let stack: FaultStack;

beforeAll(async () => {
  stack = await FaultStack.start({ redis: true, webhooks: true });
});

afterAll(async () => {
  await stack?.close();
});

describe('SIGKILL between the commit of an idempotent write and its answer', () => {
  it('replays the committed outcome after the restart: one user, one key row, one event', async () => {
    const victim = await stack.startInstance({ NODE_OPTIONS: `--import=${KILL_HOOK}` });
    const key = `crash-${randomUUID()}`;
    const user = { email: `crash-${randomUUID()}@example.com`, name: 'Crash Retry' };
    const request = { method: 'POST', json: user, headers: { 'idempotency-key': key } };

    const lost = await send(`${victim.url}/v1/users`, request).then(
      (answer) => `answered ${answer.status}`,
      (error: Error) => `no answer (${error.message})`,
    );
    expect(lost).toMatch(/^no answer/);
    expect((await victim.exited).signal).toBe('SIGKILL');

    const committed = async () => ({
      users: await stack.query<{ id: string }>(`SELECT id FROM users WHERE email = $1`, [user.email]),
      keys: await stack.query<{ state: string; response_status: number }>(
        `SELECT state, response_status FROM idempotency_keys WHERE key = $1`,
        [key],
      ),
    });
    const before = await committed();
    expect(before.users).toHaveLength(1);
    expect(before.keys).toEqual([{ state: 'completed', response_status: 201 }]);
    const id = before.users[0]!.id;

    const restarted = await stack.startInstance();
    const retry = await send(`${restarted.url}/v1/users`, request);
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers.location).toBe(`/v1/users/${id}`);
    expect(retry.json).toMatchObject({ id, email: user.email, version: 1 });

    const after = await committed();
    expect(after.users).toHaveLength(1);
    expect(after.keys).toHaveLength(1);
    const events = await stack.query<{ id: string }>(`SELECT id FROM outbox_events WHERE aggregate_id = $1`, [id]);
    expect(events).toHaveLength(1);
    await eventually(
      () => {
        const deliveries = stack.receiver!.received.filter((r) => r.body.data.id === id);
        expect(deliveries.length).toBeGreaterThan(0);
        expect(new Set(deliveries.map((d) => d.webhookId))).toEqual(new Set([events[0]!.id]));
      },
      60_000,
      100,
    );
    console.log(`[faults:idempotency-crash] lost=${JSON.stringify(lost)} users=1 keyRows=1 events=1 replayed=true`);
  });
});
