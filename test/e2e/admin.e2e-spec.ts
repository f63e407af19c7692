import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_QUEUE } from '../../src/infra/outbox/index.js';
import { NOTIFICATIONS_QUEUE } from '../../src/modules/notifications/notifications.queue.js';
import { IMPORTS_QUEUE } from '../../src/modules/products/product-import.job.js';

/** Every queue the app's modules declare. */
const QUEUE_NAMES = [EVENTS_QUEUE, NOTIFICATIONS_QUEUE, IMPORTS_QUEUE].map((queue) => queue.name);
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { launchBrowser } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { deleteKeys } from '../support/redis-keys.js';
import { TEST_REDIS_URL } from '../support/services.js';

const ADMIN_TOKEN = `admin-${randomUUID()}`;
const PREFIX = `t-admin-${randomUUID().slice(0, 8)}`;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Every kind of route under /admin: the dashboard page, its JSON API, its assets, and ours. */
const ADMIN_PATHS = [
  '/admin/queues',
  '/admin/queues/api/queues',
  '/admin/queues/static/favicon-32x32.png',
  '/admin/dead-letters',
  '/admin/nothing',
];

let db: TestDatabase;
let api: TestApp;
let browser: Browser | undefined;

beforeAll(async () => {
  db = await createTestDatabase('admin');
  api = await bootTestApp({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    QUEUE_DRIVER: 'bullmq',
    API_KEYS: undefined,
    ADMIN_TOKEN,
  });
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await db?.drop();
  await deleteKeys(PREFIX);
});

describe('admin authentication', () => {
  it('answers 401 with a Basic challenge to every /admin route without a credential', async () => {
    for (const path of ADMIN_PATHS) {
      const response = await api.request(path);
      expect(response.status, path).toBe(401);
      expect(response.headers.get('www-authenticate'), path).toMatch(/^Basic realm=/);
      await problemOf(response);
    }
  });

  it('answers 403 to a wrong token, as Bearer or as the Basic password', async () => {
    for (const path of ADMIN_PATHS) {
      for (const authorization of ['Bearer not-the-admin-token', basic('admin', 'not-the-admin-token')]) {
        const response = await api.request(path, { headers: { authorization } });
        expect(response.status, `${path} ${authorization}`).toBe(403);
        await problemOf(response);
      }
    }
  });

  it('lets the token through, as Bearer or as the Basic password', async () => {
    for (const authorization of [`Bearer ${ADMIN_TOKEN}`, basic('anyone', ADMIN_TOKEN)]) {
      const queues = await api.request('/admin/queues/api/queues', { headers: { authorization } });
      expect(queues.status).toBe(200);
      const body = (await queues.json()) as { queues: Array<{ name: string }> };
      expect(body.queues.map((q) => q.name).sort()).toEqual([...QUEUE_NAMES].sort());
      expect((await api.request('/admin/dead-letters', { headers: { authorization } })).status).toBe(200);
      expect((await api.request('/admin/queues', { headers: { authorization } })).status).toBe(200);
    }
  });

  it('leaves the rest of the API alone', async () => {
    expect((await api.request('/health/live')).status).toBe(200);
    expect((await api.request('/v1/products')).status).toBe(200);
  });
});

describe('queue dashboard in a browser', () => {
  it('opens /admin/queues with Basic credentials and shows every queue', async () => {
    browser = await launchBrowser();
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN_TOKEN } });
    const page = await context.newPage();
    const response = await page.goto(`${api.baseUrl}/admin/queues`);
    expect(response?.status()).toBe(200);
    for (const name of QUEUE_NAMES) {
      await page.getByText(name, { exact: true }).first().waitFor({ timeout: 20_000 });
    }
    await context.close();
  });

  it('refuses the dashboard API to a browser without the token', async () => {
    browser ??= await launchBrowser();
    const context = await browser.newContext();
    const response = await context.request.get(`${api.baseUrl}/admin/queues/api/queues`);
    expect(response.status()).toBe(401);
    expect(response.headers()['www-authenticate']).toMatch(/^Basic/);
    await context.close();
  });
});

describe('admin switched off', () => {
  it('answers 404 to every /admin route when ADMIN_TOKEN is unset', async () => {
    const off = await bootTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      QUEUE_DRIVER: 'bullmq',
      API_KEYS: undefined,
      ADMIN_TOKEN: undefined,
    });
    try {
      for (const path of ADMIN_PATHS) {
        for (const headers of [{}, { authorization: `Bearer ${ADMIN_TOKEN}` }] as Array<Record<string, string>>) {
          const response = await off.request(path, { headers });
          expect(response.status, path).toBe(404);
          expect(response.headers.get('www-authenticate')).toBeNull();
          await problemOf(response);
        }
      }
    } finally {
      await off.close();
    }
  });
});
