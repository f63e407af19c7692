import type { FastifyRequest } from 'fastify';
import { queryOf, type WriteThroughRule } from '../../infra/cache/index.js';

/** Every list page of users carries this tag; any user write invalidates them all. */
export const USERS_TAG = 'users';

/** One user's entry. Ids are lower-cased as the UUID pipe does, so `ABC…` and `abc…` share it. */
export const userKey = (id: string): string => `user:${id.toLowerCase()}`;

export const userKeyOf = (request: FastifyRequest): string => userKey((request.params as { id: string }).id);

export const userListKeyOf = (request: FastifyRequest): string => `users:list:${queryOf(request)}`;

/** After each commit: the user's new state (or a tombstone) under its key, and the lists invalidated. */
export const userWriteThrough: WriteThroughRule = {
  aggregateType: 'user',
  key: userKey,
  tags: [USERS_TAG],
  notFound: 'User not found',
};
