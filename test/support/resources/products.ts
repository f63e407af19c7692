import { type ResourceSpec, run } from '../resource-spec.js';

export const spec: ResourceSpec = {
  name: 'products',
  path: '/v1/products',
  aggregate: 'product',
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
  optional: ['description'],
  invalid: [
    ['priceCents', -1],
    ['currency', 'XYZ'],
    ['sku', ''],
  ],
  patch: { priceCents: 4242, stock: 7 },
};
