import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, problemOf, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { productSpec, type ResourceSpec, userSpec } from '../support/resources.js';

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase('resources');
  api = await bootTestApp({ DATABASE_URL: db.url, REDIS_URL: undefined, API_KEYS: undefined });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

type Json = Record<string, unknown>;

async function create(spec: ResourceSpec, n: number): Promise<Json> {
  const response = await api.request(spec.path, { method: 'POST', json: spec.valid(n) });
  expect(response.status).toBe(201);
  return (await response.json()) as Json;
}

describe.each([productSpec, userSpec])('$name: the HTTP contract', (spec) => {
  it('creates with 201, Location, ETag and exactly the documented fields', async () => {
    const input = spec.valid(1);
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

  it(`rejects a duplicate ${spec.unique.field} with 409, case-insensitively, on create and update`, async () => {
    const first = await create(spec, 6);
    const taken = spec.unique.collide(first[spec.unique.field] as string);
    const duplicate = await api.request(spec.path, {
      method: 'POST',
      json: { ...spec.valid(7), [spec.unique.field]: taken },
    });
    expect(duplicate.status).toBe(409);
    expect((await problemOf(duplicate)).errors).toEqual([{ field: spec.unique.field, message: 'is already taken' }]);

    const other = await create(spec, 8);
    const clash = await api.request(`${spec.path}/${other.id as string}`, {
      method: 'PATCH',
      json: { [spec.unique.field]: taken },
    });
    expect(clash.status).toBe(409);
  });

  it('lets exactly one of 10 concurrent creates with the same unique value win (the constraint decides)', async () => {
    const body = spec.valid(9);
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () => api.request(spec.path, { method: 'POST', json: body }).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(9);
  });

  it('answers an unsupported method on a known path with 405 and Allow', async () => {
    const created = await create(spec, 10);
    const item = await api.request(`${spec.path}/${created.id as string}`, { method: 'PUT', json: spec.valid(11) });
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

describe.each([productSpec, userSpec])('$name: cursor pagination', (spec) => {
  it('pages through 250 new items newest first, each exactly once', async () => {
    const database = await createTestDatabase(`paging_${spec.name}`);
    const app = await bootTestApp({ DATABASE_URL: database.url, REDIS_URL: undefined, API_KEYS: undefined });
    try {
      const ids: string[] = [];
      for (let batch = 0; batch < 25; batch++) {
        const created = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            app
              .request(spec.path, { method: 'POST', json: spec.valid(1000 + batch * 10 + i) })
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

describe('products: resource-specific rules', () => {
  it('trims the name, keeps the description exactly, defaults stock, active and description', async () => {
    const description = ' spaced  \t text with émoji 🎉 and "quotes" ';
    const response = await api.request('/v1/products', {
      method: 'POST',
      json: {
        sku: `trim-${randomUUID().slice(0, 8)}`,
        name: '  Padded  ',
        priceCents: 0,
        currency: 'JPY',
        description,
      },
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Json;
    expect(body).toMatchObject({ name: 'Padded', description, stock: 0, active: true, priceCents: 0 });
    const noDescription = await create(productSpec, 500);
    expect(noDescription.description).toBeNull();
  });

  it('clears a description with null, but refuses null for non-nullable fields', async () => {
    const created = await create(productSpec, 501);
    const url = `/v1/products/${created.id as string}`;
    expect((await api.request(url, { method: 'PATCH', json: { description: 'x' } })).status).toBe(200);
    const cleared = await api.request(url, { method: 'PATCH', json: { description: null } });
    expect(((await cleared.json()) as Json).description).toBeNull();
    for (const field of ['name', 'sku', 'priceCents', 'currency', 'stock', 'active']) {
      const response = await api.request(url, { method: 'PATCH', json: { [field]: null } });
      expect(response.status, field).toBe(400);
    }
  });

  it('filters the list by active', async () => {
    const inactive = (await (
      await api.request('/v1/products', { method: 'POST', json: { ...productSpec.valid(502), active: false } })
    ).json()) as Json;
    const active = (await (await api.request('/v1/products?active=true&limit=100')).json()) as { items: Json[] };
    const onlyInactive = (await (await api.request('/v1/products?active=false&limit=100')).json()) as { items: Json[] };
    expect(active.items.every((p) => p.active === true)).toBe(true);
    expect(onlyInactive.items.map((p) => p.id)).toContain(inactive.id);
    expect(onlyInactive.items.every((p) => p.active === false)).toBe(true);
    expect((await api.request('/v1/products?active=yes')).status).toBe(400);
  });
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
});
