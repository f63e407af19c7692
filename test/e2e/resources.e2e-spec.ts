import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { loadResourceSpecs, type ResourceSpec, type SetupValues } from '../support/resource-spec.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

// The shared HTTP contract, run against every resource in test/support/resources/ (users, products,
// and what `npm run generate -- resource` adds there).
const specs = await loadResourceSpecs();
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

let db: TestDatabase;
let api: TestApp;
let receiver: WebhookReceiver;

/** The app's settings, with webhooks to `receiver` so every resource's events can be checked. */
const appEnv = (database: TestDatabase): Record<string, string | undefined> => ({
  DATABASE_URL: database.url,
  REDIS_URL: undefined,
  API_KEYS: undefined,
  WEBHOOK_URLS: `${receiver.baseUrl}/hooks`,
  WEBHOOK_SECRET: SECRET,
});

beforeAll(async () => {
  receiver = await WebhookReceiver.start(SECRET);
  db = await createTestDatabase('resources');
  api = await bootTestApp(appEnv(db));
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
  await receiver?.stop();
});

type Json = Record<string, unknown>;

async function createIn(app: TestApp, spec: ResourceSpec, body: Json): Promise<Json> {
  const response = await app.request(spec.path, { method: 'POST', json: body });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as Json;
}

describe.each(specs)('$name: the HTTP contract', (spec) => {
  let values: SetupValues = {};
  const valid = (n: number): Json => spec.valid(n, values);
  const create = (_spec: ResourceSpec, n: number): Promise<Json> => createIn(api, spec, valid(n));

  beforeAll(async () => {
    values = (await spec.setup?.((path, init) => api.request(path, init))) ?? {};
  });

  it('creates with 201, Location, ETag and exactly the documented fields', async () => {
    const input = valid(1);
    const response = await api.request(spec.path, { method: 'POST', json: input });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Json;
    expect(Object.keys(body).sort()).toEqual([...spec.fields].sort());
    expect(response.headers.get('location')).toBe(`${spec.path}/${body.id as string}`);
    expect(response.headers.get('etag')).toBe('"1"');
    expect(body.version).toBe(1);
    expect(new Date(body.createdAt as string).toISOString()).toBe(body.createdAt);
    for (const [key, value] of Object.entries(input)) expect(body[key]).toEqual(value);
  });

  it('reads by id with an ETag, and answers If-None-Match with 304 and no body', async () => {
    const created = await create(spec, 2);
    const read = await api.request(`${spec.path}/${created.id as string}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(created);
    const etag = read.headers.get('etag')!;
    expect(etag).toBe('"1"');

    const notModified = await api.request(`${spec.path}/${created.id as string}`, {
      headers: { 'if-none-match': etag },
    });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe('');
    const stale = await api.request(`${spec.path}/${created.id as string}`, { headers: { 'if-none-match': '"99"' } });
    expect(stale.status).toBe(200);
  });

  it('answers 404 for an unknown id and 400 for an id that is not a UUID', async () => {
    const missing = await api.request(`${spec.path}/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).title).toBe('Not Found');

    const malformed = await api.request(`${spec.path}/not-a-uuid`);
    expect(malformed.status).toBe(400);
    expect((await problemOf(malformed)).errors).toEqual([{ field: 'id', message: 'must be a UUID' }]);
  });

  it('updates with PATCH: version + 1, new ETag, If-Match honoured (stale → 412)', async () => {
    const created = await create(spec, 3);
    const url = `${spec.path}/${created.id as string}`;
    const updated = await api.request(url, { method: 'PATCH', json: spec.patch, headers: { 'if-match': '"1"' } });
    expect(updated.status).toBe(200);
    const body = (await updated.json()) as Json;
    expect(body.version).toBe(2);
    expect(updated.headers.get('etag')).toBe('"2"');
    for (const [key, value] of Object.entries(spec.patch)) expect(body[key]).toEqual(value);
    expect(new Date(body.updatedAt as string).getTime()).toBeGreaterThanOrEqual(
      new Date(created.updatedAt as string).getTime(),
    );
    expect(body.createdAt).toBe(created.createdAt);

    const stale = await api.request(url, { method: 'PATCH', json: spec.patch, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    await problemOf(stale);
    const weak = await api.request(url, { method: 'PATCH', json: spec.patch, headers: { 'if-match': 'W/"2"' } });
    expect(weak.status).toBe(412);
    const star = await api.request(url, { method: 'PATCH', json: spec.patch, headers: { 'if-match': '*' } });
    expect(star.status).toBe(200);

    expect(((await (await api.request(url)).json()) as Json).version).toBe(3);
  });

  it('treats an empty PATCH as a no-op that still honours If-Match', async () => {
    const created = await create(spec, 4);
    const url = `${spec.path}/${created.id as string}`;
    const same = await api.request(url, { method: 'PATCH', json: {} });
    expect(same.status).toBe(200);
    expect(((await same.json()) as Json).version).toBe(1);
    expect((await api.request(url, { method: 'PATCH', json: {}, headers: { 'if-match': '"7"' } })).status).toBe(412);
  });

  it('answers 404 to PATCH and DELETE of a missing id', async () => {
    const url = `${spec.path}/${randomUUID()}`;
    expect((await api.request(url, { method: 'PATCH', json: spec.patch })).status).toBe(404);
    expect((await api.request(url, { method: 'DELETE' })).status).toBe(404);
  });

  it('deletes with 204; afterwards GET is 404; a stale If-Match on DELETE is 412', async () => {
    const created = await create(spec, 5);
    const url = `${spec.path}/${created.id as string}`;
    expect((await api.request(url, { method: 'DELETE', headers: { 'if-match': '"9"' } })).status).toBe(412);
    const deleted = await api.request(url, { method: 'DELETE', headers: { 'if-match': '"1"' } });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    expect((await api.request(url)).status).toBe(404);
  });

  const unique = spec.unique;
  if (unique === undefined) {
    // Stated rather than skipped: with no natural unique field there is no 409 to test, and equal bodies both succeed.
    it('has no unique field: the 409 cases do not apply, and two equal creates both succeed', async () => {
      const body = valid(6);
      expect((await api.request(spec.path, { method: 'POST', json: body })).status).toBe(201);
      expect((await api.request(spec.path, { method: 'POST', json: body })).status).toBe(201);
    });
  } else {
    it(`rejects a duplicate ${unique.field} with 409, case-insensitively, on create and update`, async () => {
      const first = await create(spec, 6);
      const taken = unique.collide(first[unique.field] as string);
      const duplicate = await api.request(spec.path, {
        method: 'POST',
        json: { ...valid(7), [unique.field]: taken },
      });
      expect(duplicate.status).toBe(409);
      expect((await problemOf(duplicate)).errors).toEqual([{ field: unique.field, message: 'is already taken' }]);

      const other = await create(spec, 8);
      const clash = await api.request(`${spec.path}/${other.id as string}`, {
        method: 'PATCH',
        json: { [unique.field]: taken },
      });
      expect(clash.status).toBe(409);
    });

    it('lets exactly one of 10 concurrent creates with the same unique value win (the constraint decides)', async () => {
      const body = valid(9);
      const statuses = await Promise.all(
        Array.from({ length: 10 }, () => api.request(spec.path, { method: 'POST', json: body }).then((r) => r.status)),
      );
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(9);
    });
  }

  for (const field of spec.references ?? []) {
    it(`answers a ${field} that refers to no row with 400 naming the field, on create and update`, async () => {
      const missing = await api.request(spec.path, { method: 'POST', json: { ...valid(12), [field]: randomUUID() } });
      expect(missing.status).toBe(400);
      expect((await problemOf(missing)).errors).toEqual([{ field, message: 'must refer to an existing record' }]);

      const created = await create(spec, 13);
      const patch = await api.request(`${spec.path}/${created.id as string}`, {
        method: 'PATCH',
        json: { [field]: randomUUID() },
      });
      expect(patch.status).toBe(400);
      expect((await problemOf(patch)).errors).toEqual([{ field, message: 'must refer to an existing record' }]);
    });
  }

  if (spec.optional?.length) {
    it(`answers null for omitted optional fields (${spec.optional.join(', ')}), and clears them with null`, async () => {
      const body = valid(14);
      for (const field of spec.optional ?? []) delete body[field];
      const created = await createIn(api, spec, body);
      for (const field of spec.optional ?? []) expect(created[field], field).toBeNull();
      const url = `${spec.path}/${created.id as string}`;
      const cleared = await api.request(url, {
        method: 'PATCH',
        json: Object.fromEntries((spec.optional ?? []).map((field) => [field, null])),
      });
      expect(cleared.status).toBe(200);
      const state = (await cleared.json()) as Json;
      for (const field of spec.optional ?? []) expect(state[field], field).toBeNull();
    });
  }

  for (const [field, value] of spec.invalid ?? []) {
    it(`rejects ${field} = ${JSON.stringify(value)} with 400 naming the field`, async () => {
      const response = await api.request(spec.path, { method: 'POST', json: { ...valid(15), [field]: value } });
      expect(response.status).toBe(400);
      expect((await problemOf(response)).errors?.[0]?.field).toBe(field);
    });
  }

  it('writes the new state through to the cache and sends a webhook per event', async () => {
    const created = await create(spec, 16);
    const url = `${spec.path}/${created.id as string}`;
    const patched = await api.request(url, { method: 'PATCH', json: spec.patch });
    const state = (await patched.json()) as Json;
    // Not read since the write: a hit can only be the state the write stored.
    const read = await api.request(url);
    expect(read.headers.get('cache-status')).toMatch(/^app; hit/);
    expect(await read.json()).toEqual(state);
    expect((await api.request(url, { method: 'DELETE' })).status).toBe(204);
    expect((await api.request(url)).status).toBe(404);

    const types = ['created', 'updated', 'deleted'].map((kind) => `${spec.aggregate}.${kind}`);
    await eventually(() => {
      const events = receiver.received.filter((hook) => hook.body.data.id === created.id);
      expect(events.map((hook) => hook.body.type).sort()).toEqual([...types].sort());
      expect(events.find((hook) => hook.body.type === types[1])?.body.data).toEqual(state);
    });
  });

  it('answers an unsupported method on a known path with 405 and Allow', async () => {
    const created = await create(spec, 10);
    const item = await api.request(`${spec.path}/${created.id as string}`, { method: 'PUT', json: valid(11) });
    expect(item.status).toBe(405);
    expect(item.headers.get('allow')).toBe('DELETE, GET, HEAD, PATCH');
    await problemOf(item);
    const collection = await api.request(spec.path, { method: 'DELETE' });
    expect(collection.status).toBe(405);
    expect(collection.headers.get('allow')).toContain('POST');
    expect((await api.request(`${spec.path}/${created.id as string}/nested`)).status).toBe(404);
  });

  it('validates list query parameters instead of clamping them', async () => {
    for (const query of [
      'limit=0',
      'limit=101',
      'limit=abc',
      'limit=1.5',
      'limit=-1',
      'limit=',
      'cursor=%%%',
      'cursor=bm9wZQ',
      'unknown=1',
      'limit=1&limit=2',
    ]) {
      const response = await api.request(`${spec.path}?${query}`);
      expect(response.status, query).toBe(400);
      await problemOf(response);
    }
  });
});

describe.each(specs)('$name: cursor pagination', (spec) => {
  it('pages through 250 new items newest first, each exactly once', async () => {
    const database = await createTestDatabase(`paging_${spec.name}`);
    // No webhooks here: 250 creates would only add deliveries nobody checks.
    const app = await bootTestApp({ ...appEnv(database), WEBHOOK_URLS: undefined, WEBHOOK_SECRET: undefined });
    try {
      const values = (await spec.setup?.((path, init) => app.request(path, init))) ?? {};
      const ids: string[] = [];
      for (let batch = 0; batch < 25; batch++) {
        const created = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            app
              .request(spec.path, { method: 'POST', json: spec.valid(1000 + batch * 10 + i, values) })
              .then((r) => r.json() as Promise<Json>),
          ),
        );
        ids.push(...created.map((item) => item.id as string));
      }

      const seen: Json[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const response: Response = await app.request(`${spec.path}?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
        expect(response.status).toBe(200);
        const page = (await response.json()) as { items: Json[]; nextCursor: string | null };
        expect(Object.keys(page).sort()).toEqual(['items', 'nextCursor']);
        seen.push(...page.items);
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null && pages < 100);

      expect(pages).toBe(Math.ceil(250 / 7));
      expect(seen.map((item) => item.id).sort()).toEqual([...ids].sort());
      for (let i = 1; i < seen.length; i++) {
        const [newer, older] = [seen[i - 1]!, seen[i]!];
        const order =
          (newer.createdAt as string).localeCompare(older.createdAt as string) ||
          (newer.id as string).localeCompare(older.id as string);
        expect(order).toBeGreaterThan(0);
      }
      const defaultPage = (await (await app.request(spec.path)).json()) as { items: Json[] };
      expect(defaultPage.items).toHaveLength(20);
    } finally {
      await app.close();
      await database.drop();
    }
  });
});
