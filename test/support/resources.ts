import { randomUUID } from 'node:crypto';

/** What the shared contract tests need to know about one resource. */
export interface ResourceSpec {
  name: string;
  path: string;
  /** A valid create body, unique per `n`. */
  valid(n: number): Record<string, unknown>;
  /** The documented response fields, exactly. */
  fields: string[];
  /** The unique field, and a variant of a taken value that must collide (case-insensitively). */
  unique: { field: string; collide(value: string): string };
  /** A valid partial update. */
  patch: Record<string, unknown>;
}

const run = randomUUID().slice(0, 8);

export const productSpec: ResourceSpec = {
  name: 'products',
  path: '/v1/products',
  valid: (n) => ({ sku: `SKU-${run}-${n}`, name: `Product ${n}`, priceCents: 100 + n, currency: 'EUR' }),
  fields: [
    'id',
    'sku',
    'name',
    'description',
    'priceCents',
    'currency',
    'stock',
    'active',
    'version',
    'createdAt',
    'updatedAt',
  ],
  unique: { field: 'sku', collide: (value) => value.toLowerCase() },
  patch: { priceCents: 4242, stock: 7 },
};

export const userSpec: ResourceSpec = {
  name: 'users',
  path: '/v1/users',
  valid: (n) => ({ email: `user-${run}-${n}@example.com`, name: `User ${n}` }),
  fields: ['id', 'email', 'name', 'version', 'createdAt', 'updatedAt'],
  unique: { field: 'email', collide: (value) => value.toUpperCase() },
  patch: { name: 'Renamed' },
};
