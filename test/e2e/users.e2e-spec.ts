import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
// What users add to the shared contract (resources.e2e-spec.ts).
let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase('users');
  api = await bootTestApp({ DATABASE_URL: db.url, REDIS_URL: undefined, API_KEYS: undefined });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

describe('users: resource-specific rules', () => {
  it('stores the email in lower case and trims the name', async () => {
    const response = await api.request('/v1/users', {
      method: 'POST',
      json: { email: 'Mixed.Case@Example.COM', name: '  Ada ' },
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ email: 'mixed.case@example.com', name: 'Ada' });
  });

  it('rejects an invalid or over-long email', async () => {
    for (const email of ['not-an-email', 'a@', '@b.com', `${'a'.repeat(250)}@example.com`, 'a b@example.com']) {
      const response = await api.request('/v1/users', { method: 'POST', json: { email, name: 'x' } });
      expect(response.status, email).toBe(400);
      expect((await problemOf(response)).errors?.[0]?.field).toBe('email');
    }
  });

  it('names a taken email in plain English', async () => {
    const json = { email: 'taken@example.com', name: 'Ada' };
    expect((await api.request('/v1/users', { method: 'POST', json })).status).toBe(201);
    const taken = await api.request('/v1/users', { method: 'POST', json });
    expect(taken.status).toBe(409);
    expect((await problemOf(taken)).detail).toBe('A user with this email already exists');
  });
});
