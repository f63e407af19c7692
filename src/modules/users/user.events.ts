/** The domain events users emit; their payload is the user as the API returns it. */
export const UserEvent = {
  Created: 'user.created',
  Updated: 'user.updated',
  Deleted: 'user.deleted',
} as const;
export type UserEvent = (typeof UserEvent)[keyof typeof UserEvent];
