import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { deleteKeys } from '../support/redis-keys.js';
import { TEST_REDIS_URL } from '../support/services.js';
import { SmtpPeer } from '../support/smtp-peer.js';

/**
 * Creating a user mails an address the client chose: one client (API key, else IP) may cause at
 * most WELCOME_EMAIL_LIMIT welcome emails per window, across every instance sharing Redis. Past
 * it the user is still created (201) and the email is not sent, which the ledger and a metric show.
 */

const LIMIT = 3;
const PREFIX = `t-welcome-limit-${randomUUID().slice(0, 8)}`;
const KEYS = { bomber: `bomber-${randomUUID()}`, other: `other-${randomUUID()}` };

let db: TestDatabase;
let smtp: SmtpPeer;
let instances: TestApp[] = [];

beforeAll(async () => {
  db = await createTestDatabase('welcome_limit');
  smtp = await SmtpPeer.start();
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    QUEUE_DRIVER: 'bullmq',
    API_KEYS: `bomber:${KEYS.bomber},other:${KEYS.other}`,
    WEBHOOK_URLS: undefined,
    SMTP_URL: smtp.url,
    WELCOME_EMAIL_LIMIT: String(LIMIT),
    WELCOME_EMAIL_TTL_SECONDS: '3600',
  };
  instances = [await bootTestApp(env), await bootTestApp(env)];
});

afterAll(async () => {
  for (const instance of instances) await instance.close();
  await smtp?.stop();
  await db?.drop();
  await deleteKeys(PREFIX);
});

/** Creates a user as the client `headers` name (an API key, or a forwarded address). */
async function createUser(
  instance: TestApp,
  headers: Record<string, string>,
): Promise<{ email: string; eventId: string }> {
  const email = `limit-${randomUUID()}@example.com`;
  const response = await instance.request('/v1/users', {
    method: 'POST',
    headers,
    json: { email, name: 'Mail Target' },
  });
  expect(response.status, await response.clone().text()).toBe(201);
  const user = (await response.json()) as { id: string };
  const [event] = await db.query<{ id: string }>(`SELECT id FROM outbox_events WHERE aggregate_id = $1`, [user.id]);
  return { email, eventId: event!.id };
}

const asKey = (key: string) => ({ authorization: `Bearer ${key}` });
const fromIp = (address: string) => ({ 'x-forwarded-for': address });

async function ledger(eventIds: string[]): Promise<string[]> {
  const rows = await db.query<{ status: string }>(`SELECT status FROM sent_emails WHERE event_id = ANY($1::uuid[])`, [
    eventIds,
  ]);
  return rows.map((r) => r.status).sort();
}

async function suppressedCount(instance: TestApp): Promise<number> {
  const text = await (await instance.request('/metrics')).text();
  const match = /^welcome_emails_suppressed_total\{reason="client-limit"\} (\d+)$/m.exec(text);
  return match ? Number(match[1]) : 0;
}

describe('welcome emails per client', () => {
  it(`sends ${LIMIT} per client across two instances; past it users are created and not mailed`, async () => {
    // 10 creations by one key, alternating between the two instances.
    const created: Array<{ email: string; eventId: string }> = [];
    for (let i = 0; i < 10; i++) created.push(await createUser(instances[i % 2]!, asKey(KEYS.bomber)));
    const eventIds = created.map((c) => c.eventId);

    // Every job has run: exactly LIMIT sent, the rest suppressed by the limit.
    await eventually(async () =>
      expect(await ledger(eventIds)).toEqual([...Array(LIMIT).fill('sent'), ...Array(10 - LIMIT).fill('suppressed')]),
    );
    const mailed = smtp.received.filter((m) => created.some((c) => m.to.includes(c.email)));
    expect(mailed).toHaveLength(LIMIT);
    expect(await db.query(`SELECT 1 FROM users WHERE email = ANY($1)`, [created.map((c) => c.email)])).toHaveLength(10);
    // Counted where each refusal happened: the two instances' counts add up.
    const counts = await Promise.all(instances.map(suppressedCount));
    expect(counts[0]! + counts[1]!).toBe(10 - LIMIT);
    expect(counts.every((c) => c > 0)).toBe(true);

    // Another client is not held up by this one.
    const other = await createUser(instances[1]!, asKey(KEYS.other));
    await eventually(() => expect(smtp.received.filter((m) => m.to.includes(other.email))).toHaveLength(1));
  });
});

describe('welcome emails per client address, when no API key names the client', () => {
  // No API_KEYS: writes are open and the client is its address. TRUST_PROXY names the test's
  // loopback peer as the proxy, so each X-Forwarded-For address is one client.
  let open: TestApp;

  beforeAll(async () => {
    open = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      QUEUE_DRIVER: 'bullmq',
      API_KEYS: undefined,
      TRUST_PROXY: '127.0.0.1/32,::1/128',
      WEBHOOK_URLS: undefined,
      SMTP_URL: smtp.url,
      WELCOME_EMAIL_LIMIT: String(LIMIT),
      WELCOME_EMAIL_TTL_SECONDS: '3600',
    });
  });

  afterAll(async () => {
    await open?.close();
  });

  it(`sends ${LIMIT} per address; another address is not held up`, async () => {
    const created: Array<{ email: string; eventId: string }> = [];
    for (let i = 0; i < LIMIT + 3; i++) created.push(await createUser(open, fromIp('203.0.113.7')));
    await eventually(async () =>
      expect(await ledger(created.map((c) => c.eventId))).toEqual([
        ...Array(LIMIT).fill('sent'),
        ...Array(3).fill('suppressed'),
      ]),
    );
    expect(smtp.received.filter((m) => created.some((c) => m.to.includes(c.email)))).toHaveLength(LIMIT);

    const neighbour = await createUser(open, fromIp('203.0.113.8'));
    await eventually(() => expect(smtp.received.filter((m) => m.to.includes(neighbour.email))).toHaveLength(1));
  });
});
