import { type ResourceSpec, run } from '../resource-spec.js';

export const spec: ResourceSpec = {
  name: 'users',
  path: '/v1/users',
  aggregate: 'user',
  valid: (n) => ({ email: `user-${run}-${n}@example.com`, name: `User ${n}` }),
  fields: ['id', 'email', 'name', 'version', 'createdAt', 'updatedAt'],
  unique: { field: 'email', collide: (value) => value.toUpperCase() },
  invalid: [
    ['email', 'not-an-email'],
    ['name', ''],
  ],
  patch: { name: 'Renamed' },
};
