import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTIFICATIONS_QUEUE } from '../../src/modules/notifications/notifications.queue.js';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { deleteKeys } from '../support/redis-keys.js';
import { TEST_REDIS_URL } from '../support/services.js';

/**
 * Attacks on the notifications and the admin dashboard, each with the bound it must keep.
 * The dashboard suite runs under NODE_ENV=development, the default, where bull-board's own
 * error handler would return stack traces.
 */

const ADMIN_TOKEN = `admin-${randomUUID()}`;
const PREFIX = `t-attack-notify-${randomUUID().slice(0, 8)}`;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase('attack_notify');
  api = await bootTestApp({
    NODE_ENV: 'development',
    LOG_LEVEL: 'error',
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    QUEUE_DRIVER: 'bullmq',
    API_KEYS: undefined,
    ADMIN_TOKEN,
    WEBHOOK_URLS: 'http://127.0.0.1:9/hooks',
    WEBHOOK_SECRET: `whsec_${Buffer.from(randomUUID()).toString('base64')}`,
  });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
  await deleteKeys(PREFIX);
});

async function notificationCounts(): Promise<Record<string, number>> {
  const response = await api.request('/admin/queues/api/queues', { headers: admin });
  expect(response.status).toBe(200);
  const body = (await response.json()) as {
    queues: Array<{ name: string; counts: Record<string, number>; readOnlyMode: boolean }>;
  };
  const queue = body.queues.find((q) => q.name === NOTIFICATIONS_QUEUE.name)!;
  expect(queue.readOnlyMode).toBe(true);
  return queue.counts;
}

describe('signing oracle through the queue dashboard', () => {
  it('refuses every write with 405 and enqueues nothing', async () => {
    const before = await notificationCounts();
    const q = `/admin/queues/api/queues/${NOTIFICATIONS_QUEUE.name}`;
    const writes: Array<[string, string, unknown]> = [
      [
        'POST',
        `${q}/add`,
        { name: 'deliver-webhook', data: { url: 'http://169.254.169.254/', event: { id: randomUUID(), type: 'x' } } },
      ],
      ['PUT', `${q}/retry/failed`, {}],
      ['PUT', `${q}/promote`, {}],
      ['PUT', `${q}/clean/completed`, {}],
      ['PUT', `${q}/some-job/retry/failed`, {}],
      ['PUT', `${q}/some-job/promote`, {}],
      ['PUT', `${q}/some-job/clean`, {}],
      ['PATCH', `${q}/some-job/update-data`, { jobData: { url: 'http://169.254.169.254/' } }],
      ['PUT', `${q}/empty`, {}],
      ['PUT', `${q}/pause`, {}],
    ];
    for (const [method, path, json] of writes) {
      const response = await api.request(path, { method, headers: admin, json });
      expect([404, 405], `${method} ${path}`).toContain(response.status);
    }
    // add: the route exists, and read-only mode is what refuses it
    expect((await api.request(`${q}/add`, { method: 'POST', headers: admin, json: writes[0]![2] })).status).toBe(405);
    expect(await notificationCounts()).toEqual(before);
  });

  it('answers dashboard errors without a message or a stack trace', async () => {
    // bull-board adds the stack when the process runs with NODE_ENV=development.
    const saved = process.env.NODE_ENV;
    process.env.NODE_ENV = 'development';
    try {
      const response = await api.request('/admin/queues/api/queues/pause', {
        method: 'PUT',
        headers: { ...admin, 'content-type': 'application/json' },
        body: '{"a":',
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        type: 'about:blank',
        title: 'Bad request to the queue dashboard',
        status: 400,
      });
    } finally {
      process.env.NODE_ENV = saved;
    }
  });
});

describe('a hanging SMTP server (accepts TCP, never greets)', () => {
  const prefix = `${PREFIX}-smtp`;
  let smtpDb: TestDatabase;
  let smtpApi: TestApp;
  let hanging: Server;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    hanging = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const { port } = hanging.address() as { port: number };
    smtpDb = await createTestDatabase('attack_smtp');
    smtpApi = await bootTestApp({
      DATABASE_URL: smtpDb.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      QUEUE_DRIVER: 'bullmq',
      API_KEYS: undefined,
      WEBHOOK_URLS: undefined,
      SMTP_URL: `smtp://127.0.0.1:${port}?ignoreTLS=true`,
    });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await smtpApi?.close();
    await new Promise((resolve) => hanging?.close(resolve));
    await smtpDb?.drop();
    await deleteKeys(prefix);
  });

  it('keeps creating users and stays ready: 30 POST /v1/users all 201, readiness 200 throughout', async () => {
    const statuses: number[] = [];
    const readiness: number[] = [];
    for (let i = 0; i < 30; i++) {
      const created = await smtpApi.request('/v1/users', {
        method: 'POST',
        json: { email: `hang-${randomUUID()}@example.com`, name: `User ${i}` },
      });
      statuses.push(created.status);
      readiness.push((await smtpApi.request('/health/ready')).status);
    }
    expect(statuses).toEqual(Array(30).fill(201));
    expect(readiness).toEqual(Array(30).fill(200));
    // The welcome emails are waiting on the SMTP server, yet none holds a database session open in a transaction.
    const [row] = await smtpDb.query<{ count: string }>(
      `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
    );
    expect(Number(row?.count)).toBe(0);
    expect(sockets.size).toBeGreaterThan(0); // the mails really are stuck on the peer
  });
});
