import type { CachedAggregate } from '../../infra/cache/index.js';
import { eventType } from '../../infra/outbox/index.js';
import type { UserResponseDto } from './dto/user-response.dto.js';
import { USERS_TAG, userKey } from './users.cache.js';

/**
 * The user aggregate, the one descriptor its writes emit (`tx.emit(userAggregate, kind, user)`)
 * and the module declares (`OutboxModule.forFeature`, `CacheModule.forFeature`). Its events carry
 * the user as the API returns it; after each commit the cache stores that state (or a tombstone)
 * under its key, and the lists are invalidated.
 */
export const userAggregate: CachedAggregate<UserResponseDto, 'user'> = {
  type: 'user',
  cache: { key: userKey, tags: [USERS_TAG], notFound: 'User not found' },
};

/** The event types users emit, as webhooks and subscribers see them. */
export const UserEvent = {
  Created: eventType(userAggregate, 'created'),
  Updated: eventType(userAggregate, 'updated'),
  Deleted: eventType(userAggregate, 'deleted'),
} as const;
export type UserEvent = (typeof UserEvent)[keyof typeof UserEvent];
