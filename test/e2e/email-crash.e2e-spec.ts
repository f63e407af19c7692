import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { deleteKeys } from '../support/redis-keys.js';
import { type ServiceProcess, startService } from '../support/service-process.js';
import { TEST_REDIS_URL } from '../support/services.js';
import { SmtpPeer } from '../support/smtp-peer.js';

// A worker process killed (SIGKILL) in the middle of sending the welcome email: its transaction
// dies with it, the job's lock expires, another process picks the job up, and the email is
// accepted by the SMTP server exactly once. Runs the built service (dist/, from `npm run build`).

const PREFIX = `t-email-crash-${randomUUID().slice(0, 8)}`;

let db: TestDatabase;
let smtp: SmtpPeer;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase('email_crash');
  smtp = await SmtpPeer.start();
});

afterAll(async () => {
  for (const service of services) await service.stop('SIGKILL');
  await smtp?.stop();
  await db?.drop();
  await deleteKeys(PREFIX);
});

async function start(): Promise<ServiceProcess> {
  const service = await startService({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    QUEUE_DRIVER: 'bullmq',
    SMTP_URL: smtp.url,
    // A dead worker's job is taken back within about a second.
    QUEUE_LOCK_DURATION_MS: '1000',
    QUEUE_STALLED_INTERVAL_MS: '500',
    LOG_LEVEL: 'warn',
  });
  services.push(service);
  return service;
}

describe('welcome email across a worker crash', () => {
  it('is sent at most once when the worker is killed mid-send, and the pending row is left for an operator', async () => {
    smtp.stallNext(1);
    const first = await start();
    const email = `crash-${randomUUID()}@example.com`;
    const created = await fetch(`${first.url}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, name: 'Crash Test' }),
    });
    expect(created.status).toBe(201);
    const user = (await created.json()) as { id: string };

    // The first process has handed the message to the server, which does not answer: kill it now.
    await eventually(() => expect(smtp.stalled).toBe(1));
    const exit = await first.stop('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    const [event] = await db.query<{ id: string }>(
      `SELECT id FROM outbox_events WHERE aggregate_id = $1 AND type = 'user.created'`,
      [user.id],
    );
    // The ledger row was committed before the SMTP conversation: it says pending.
    expect(await db.query(`SELECT status FROM sent_emails WHERE event_id = $1`, [event!.id])).toEqual([
      { status: 'pending' },
    ]);

    // Another process takes the stalled job over, finds the pending row and does not resend.
    const second = await start();
    await eventually(
      () => expect(second.output()).toContain(`welcome email for event ${event!.id}: ledger row pending`),
      30_000,
    );
    expect(smtp.received.filter((m) => m.to.includes(email))).toHaveLength(0);
    expect(await db.query(`SELECT status FROM sent_emails WHERE event_id = $1`, [event!.id])).toEqual([
      { status: 'pending' },
    ]);
  });
});
