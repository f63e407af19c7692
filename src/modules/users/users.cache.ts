import type { FastifyRequest } from 'fastify';
import { canonicalQuery, pageKeyFields } from '../../infra/cache/index.js';
import { isUuid } from '../../infra/http/index.js';
import type { PageQueryDto } from '../../infra/http/index.js';

/** Every list page of users carries this tag; any user write invalidates them all. */
export const USERS_TAG = 'users';

/** One user's entry. Ids are lower-cased as the UUID pipe does, so `ABC…` and `abc…` share it. */
export const userKey = (id: string): string => `user:${id.toLowerCase()}`;

/** The get-by-id route's key; undefined for an id the UUID pipe refuses (that 400 never consults the cache). */
export const userKeyOf = (request: FastifyRequest): string | undefined => {
  const { id } = request.params as { id: string };
  return isUuid(id) ? userKey(id) : undefined;
};

/**
 * A list page's key, from the validated query (`@Cached({ query: PageQueryDto })`): defaults filled,
 * fields sorted, the cursor re-encoded, so every spelling of one query is one entry.
 */
export const userListKeyOf = (_request: FastifyRequest, query: PageQueryDto): string | undefined => {
  const page = pageKeyFields(query);
  return page === undefined ? undefined : `users:list:${canonicalQuery(page)}`;
};
