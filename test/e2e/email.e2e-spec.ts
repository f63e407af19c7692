import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueDriver } from '../../src/infra/queue/index.js';
import { SEND_WELCOME_EMAIL, type WelcomeEmailJob } from '../../src/modules/notifications/email/welcome-email.js';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { deleteKeys } from '../support/redis-keys.js';
import { TEST_REDIS_URL } from '../support/services.js';
import { SmtpPeer } from '../support/smtp-peer.js';

const PREFIX = `t-email-${randomUUID().slice(0, 8)}`;

let db: TestDatabase;
let smtp: SmtpPeer;
let api: TestApp;
let queue: QueueDriver;

beforeAll(async () => {
  db = await createTestDatabase('email');
  smtp = await SmtpPeer.start();
  api = await bootTestApp({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    QUEUE_DRIVER: 'bullmq',
    API_KEYS: undefined,
    WEBHOOK_URLS: undefined,
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Test Service <hello@example.com>',
    MAIL_MAX_ATTEMPTS: '3',
    MAIL_BACKOFF_BASE_MS: '50',
  });
  queue = api.app.get<QueueDriver>(QueueDriver);
});

afterAll(async () => {
  await api?.close();
  await smtp?.stop();
  await db?.drop();
  await deleteKeys(PREFIX);
});

const mailsTo = (address: string) => smtp.received.filter((m) => m.to.includes(address));

async function createUser(name: string): Promise<{ id: string; email: string; eventId: string }> {
  const email = `welcome-${randomUUID()}@example.com`;
  const response = await api.request('/v1/users', { method: 'POST', json: { email, name } });
  expect(response.status).toBe(201);
  const user = (await response.json()) as { id: string };
  const [event] = await db.query<{ id: string }>(
    `SELECT id FROM outbox_events WHERE aggregate_id = $1 AND type = 'user.created'`,
    [user.id],
  );
  return { id: user.id, email, eventId: event!.id };
}

async function completed(jobId: string): Promise<unknown> {
  return eventually(async () => {
    const status = await queue.getJob(jobId);
    expect(status?.state).toBe('completed');
    return status!.result;
  });
}

describe('welcome email', () => {
  it('sends the new user a welcome email over SMTP, with their address and name', async () => {
    const user = await createUser('Ada Lovelace');
    const [mail] = await eventually(() => {
      const found = mailsTo(user.email);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(mail!.from).toBe('hello@example.com');
    expect(mail!.raw).toMatch(new RegExp(`^To: "?Ada Lovelace"? <${user.email}>`, 'm'));
    expect(mail!.raw).toMatch(/^Subject: Welcome, Ada Lovelace!/m);
    expect(mail!.raw).toContain('Hello Ada Lovelace');
    // The ledger row commits once the server has accepted the message.
    await eventually(async () => {
      const [ledger] = await db.query(`SELECT * FROM sent_emails WHERE event_id = $1`, [user.eventId]);
      expect(ledger).toMatchObject({ recipient: user.email, kind: 'welcome' });
    });
  });

  it('keeps CR/LF and non-ASCII in a name inside the headers it belongs to (no header injection)', async () => {
    const name = 'Eve\r\nBcc: victim@example.net\r\nX-Injected: yes\nZoë 李 "quoted"';
    const user = await createUser(name);
    const [mail] = await eventually(() => {
      const found = mailsTo(user.email);
      expect(found).toHaveLength(1);
      return found;
    });
    // The envelope: the user only.
    expect(mail!.to).toEqual([user.email]);
    const head = mail!.raw.slice(0, mail!.raw.indexOf('\r\n\r\n'));
    // Every header line is 7-bit, and a continuation line starts with white space (RFC 5322 folding).
    expect(head).toMatch(/^[\x20-\x7e\r\n\t]*$/);
    const headers = head.split(/\r\n(?![ \t])/).map((line) => line.slice(0, line.indexOf(':')).toLowerCase());
    expect(headers).not.toContain('bcc');
    expect(headers).not.toContain('x-injected');
    expect(headers.filter((h) => h === 'to')).toHaveLength(1);
    expect(headers.filter((h) => h === 'subject')).toHaveLength(1);
    // The name is still all there, in the headers it belongs to, as encoded words.
    const field = (header: string) =>
      decodeWords(head.split(/\r\n(?![ \t])/).find((line) => line.toLowerCase().startsWith(`${header}:`))!);
    // Decoded, no header carries a line break either (a display name is read by other software too).
    expect(field('to')).not.toMatch(/[\r\n]/);
    expect(field('subject')).not.toMatch(/[\r\n]/);
    expect(field('subject')).toContain('Zoë 李');
    expect(field('to')).toContain('Zoë 李');
    expect(field('to')).toContain(`<${user.email}>`);
  });

  it('mails only what a committed user.created event says: a forged job is sent nowhere', async () => {
    const user = await createUser('Real User');
    await eventually(() => expect(mailsTo(user.email)).toHaveLength(1));
    const victim = `victim-${randomUUID()}@example.net`;
    // Written as someone with access to Redis would: an address and a text of their choosing.
    const forged = [
      { eventId: randomUUID(), email: victim, name: 'Buy now' },
      { eventId: user.eventId, email: victim, name: 'Buy now' }, // a real event, another address
      { email: victim, name: 'Buy now' },
    ];
    const ids = await Promise.all(
      forged.map((data) =>
        queue.add(SEND_WELCOME_EMAIL.queue.name, SEND_WELCOME_EMAIL.name, data, { jobId: `forged-${randomUUID()}` }),
      ),
    );
    expect(await Promise.all(ids.map((id) => completed(id)))).toEqual(['dropped', 'already-sent', 'dropped']);
    expect(mailsTo(victim)).toEqual([]);
    expect(smtp.received.some((m) => m.raw.includes('Buy now'))).toBe(false);
  });

  it('sends nothing twice when the job is delivered again', async () => {
    const user = await createUser('Grace Hopper');
    await eventually(() => expect(mailsTo(user.email)).toHaveLength(1));
    const data: WelcomeEmailJob = { eventId: user.eventId };
    // A redelivery: the same event's job again, under another job id (as after a crash or a re-dispatch).
    const again = await queue.add(SEND_WELCOME_EMAIL.queue.name, SEND_WELCOME_EMAIL.name, data, {
      jobId: `redeliver-${randomUUID()}`,
    });
    expect(await completed(again)).toBe('already-sent');
    expect(mailsTo(user.email)).toHaveLength(1);
  });

  it('sends once when two deliveries of the same job run at the same time', async () => {
    const email = `twice-${randomUUID()}@example.com`;
    // A committed user.created event whose own dispatch never runs (marked dispatched): only these two jobs send.
    const [event] = await db.query<{ id: string }>(
      `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at, dispatched_at)
       VALUES (gen_random_uuid(), 'user.created', 'user', gen_random_uuid(), $1, now(), now()) RETURNING id`,
      [JSON.stringify({ email, name: 'Twice' })],
    );
    const eventId = event!.id;
    const data: WelcomeEmailJob = { eventId };
    const ids = await Promise.all(
      [1, 2].map((n) =>
        queue.add(SEND_WELCOME_EMAIL.queue.name, SEND_WELCOME_EMAIL.name, data, {
          jobId: `concurrent-${n}-${eventId}`,
        }),
      ),
    );
    const results = await Promise.all(ids.map((id) => completed(id)));
    expect(results.sort()).toEqual(['already-pending', 'sent']);
    expect(mailsTo(email)).toHaveLength(1);
  });

  it('retries when the SMTP server refuses for a while, and then sends once', async () => {
    smtp.failNext(2);
    const user = await createUser('Retry Me');
    await eventually(() => expect(mailsTo(user.email)).toHaveLength(1));
    await eventually(async () =>
      expect(await db.query(`SELECT * FROM sent_emails WHERE event_id = $1`, [user.eventId])).toHaveLength(1),
    );
    expect(mailsTo(user.email)).toHaveLength(1);
    expect(smtp.refused).toBe(2);
  });
});

/** RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`) of an unfolded header line, decoded. */
function decodeWords(line: string): string {
  return line
    .replace(/\r\n[ \t]/g, ' ')
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, encoding: string, text: string) =>
      encoding.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text
              .replace(/_/g, ' ')
              .replace(/=([0-9a-f]{2})/gi, (_hex, code: string) => String.fromCharCode(parseInt(code, 16))),
            'latin1',
          ).toString('utf8'),
    );
}
