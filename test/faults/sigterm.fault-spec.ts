import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import type { ServiceProcess } from '../support/service-process.js';
import { FaultStack, seconds } from './support/fault-stack.js';
import { errorCode, productInput, send } from './support/http.js';

// Scenario 4: SIGTERM under load. 20 clients (each on its own keep-alive connection) send mixed
// reads, updates and user creations to two instances through a minimal load balancer that polls
// /health/ready every 100 ms and takes an instance out of rotation when it answers 503, as a real
// one would during SHUTDOWN_DRAIN_MS. One instance gets SIGTERM mid-load.
// Must hold: no request sent to the instance fails (no reset, no 5xx); the instance keeps
// answering during the drain; it exits 0 within its grace period; the background jobs of every
// created user (webhook, welcome email) complete, here or on the other instance.

const LOAD_MS = seconds('FAULT_SIGTERM_SECONDS', 6) * 1000;
const DRAIN_MS = 1000;
const QUEUE_GRACE_MS = 5000;
/** Drain + queue grace + closing the app: generous. */
const EXIT_BOUND_MS = DRAIN_MS + QUEUE_GRACE_MS + 10_000;
const CLIENTS = 20;

let stack: FaultStack;
let victim: ServiceProcess;
let survivor: ServiceProcess;

beforeAll(async () => {
  stack = await FaultStack.start({ redis: true, webhooks: true, smtp: true });
  const env = { SHUTDOWN_DRAIN_MS: String(DRAIN_MS), QUEUE_SHUTDOWN_GRACE_MS: String(QUEUE_GRACE_MS) };
  victim = await stack.startInstance(env);
  survivor = await stack.startInstance(env);
});

afterAll(async () => {
  await stack?.close();
});

describe('SIGTERM under load', () => {
  it('fails no accepted request, exits 0 in time, and loses no job', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const created = await send(`${survivor.url}/v1/products`, { method: 'POST', json: productInput('term', i) });
      expect(created.status).toBe(201);
      ids.push((created.json as { id: string }).id);
    }
    const figures = { requests: 0, toVictim: 0, victimAfterSignal: 0, connectionClose: 0, failed: 0, usersCreated: 0 };
    const failures: string[] = [];
    const users: Array<{ id: string; email: string }> = [];
    let signalledAt = 0;
    const deadline = Date.now() + LOAD_MS;

    // The load balancer: the victim leaves the rotation once its readiness says 503.
    let victimInRotation = true;
    const balancer = (async () => {
      while (victimInRotation && Date.now() < deadline) {
        try {
          if ((await send(`${victim.url}/health/ready`, { timeoutMs: 1000 })).status !== 200) victimInRotation = false;
        } catch {
          victimInRotation = false;
        }
        await sleep(100);
      }
    })();

    const client = async (index: number): Promise<void> => {
      const agent = new Agent({ connections: 1, pipelining: 1 });
      let target = survivor;
      try {
        for (let n = 0; Date.now() < deadline; n++) {
          target = index % 2 === 0 && victimInRotation ? victim : survivor;
          const roll = (index * 7 + n) % 10;
          const request =
            roll < 5
              ? { path: `/v1/products/${ids[n % ids.length]}`, method: 'GET' }
              : roll < 8
                ? { path: `/v1/products/${ids[n % ids.length]}`, method: 'PATCH', json: { stock: n } }
                : { path: '/v1/users', method: 'POST', json: { email: `term-${index}-${n}-${Date.now()}@example.com`, name: `Term ${index}` } };
          const afterSignal = signalledAt > 0;
          try {
            const answer = await send(`${target.url}${request.path}`, { method: request.method, json: request.json, dispatcher: agent, timeoutMs: 20_000 });
            figures.requests++;
            if (target === victim) {
              figures.toVictim++;
              if (afterSignal) figures.victimAfterSignal++;
              if (answer.headers.connection === 'close') figures.connectionClose++;
            }
            if (answer.status >= 500) {
              figures.failed++;
              failures.push(`${request.method} ${request.path} on ${target === victim ? 'victim' : 'survivor'} → ${answer.status} ${answer.text.slice(0, 200)}`);
            }
            if (answer.status === 201 && request.path === '/v1/users') {
              figures.usersCreated++;
              users.push({ id: (answer.json as { id: string }).id, email: (request.json as { email: string }).email });
            }
          } catch (error) {
            const code = errorCode(error);
            figures.failed++;
            failures.push(`${request.method} ${request.path} on ${target === victim ? 'victim' : 'survivor'}${afterSignal ? ' after SIGTERM' : ''}: ${code} ${String(error)}`);
          }
        }
      } finally {
        await agent.close();
      }
    };

    const load = Promise.all(Array.from({ length: CLIENTS }, (_, index) => client(index)));
    await sleep(LOAD_MS / 3);
    signalledAt = Date.now();
    victim.child.kill('SIGTERM');
    const exit = await Promise.race([victim.exited, sleep(EXIT_BOUND_MS).then(() => 'timeout' as const)]);
    const exitMs = Date.now() - signalledAt;
    await load;
    await balancer;

    // Every created user's jobs ran: the user.created webhook and the welcome email arrived.
    await eventually(() => {
      for (const user of users) {
        expect(stack.receiver!.received.some((r) => r.body.type === 'user.created' && r.body.data.id === user.id), `webhook for ${user.id}`).toBe(true);
        expect(stack.smtp!.received.some((m) => m.to.includes(user.email)), `email to ${user.email}`).toBe(true);
      }
    }, 60_000, 250);

    console.log(`[faults:sigterm] requests=${figures.requests} toVictim=${figures.toVictim} victimAfterSignal=${figures.victimAfterSignal} connectionClose=${figures.connectionClose} failed=${figures.failed} usersCreated=${figures.usersCreated} webhooksDelivered=${stack.receiver!.received.length} emails=${stack.smtp!.received.length} exit=${JSON.stringify(exit)} exitMs=${exitMs}`);
    for (const failure of failures.slice(0, 10)) console.log(`  failed: ${failure}`);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(failures).toEqual([]);
    expect(figures.victimAfterSignal).toBeGreaterThan(0);
    expect(figures.usersCreated).toBeGreaterThan(0);
  });
});
