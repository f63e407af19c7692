import { isForeignKeyViolation, isUniqueViolation, type WriteOutcome } from '../database/index.js';
import { preconditionFailed } from './etag.js';
import { ProblemException } from './problem.js';

export const notFound = (resource: string): ProblemException => new ProblemException(404, `${resource} not found`);

/** The entity a conditional write produced, or the 404/412 that explains why there is none. */
export function entityOrFail<T>(outcome: WriteOutcome<T>, resource: string): T {
  if (outcome.status === 'done') return outcome.entity;
  throw outcome.status === 'not-found' ? notFound(resource) : preconditionFailed();
}

/** The constraints a resource's writes can break, each with the JSON field it concerns. */
export interface WriteConstraints {
  /** Unique index → field: a violation is a 409 naming the field (`is already taken`). */
  conflicts?: Record<string, string>;
  /** Foreign key → field holding the reference: a violation is a 400 naming the field. */
  references?: Record<string, string>;
}

/**
 * Maps a violation of one of `constraints` to the problem naming its field, and rethrows anything
 * else. The database decides, never a pre-check, so two racing writers cannot both succeed and a
 * referenced row deleted meanwhile is still caught. `resource` comes with its article ('a user',
 * 'an order'): the first letter does not tell which ('a user', 'an hour').
 *
 * ```ts
 * rethrowWriteError(error, 'an order', {
 *   conflicts: { orders_reference_lower_uq: 'reference' },
 *   references: { orders_product_id_fkey: 'productId' },
 * });
 * ```
 */
export function rethrowWriteError(error: unknown, resource: string, constraints: WriteConstraints): never {
  for (const [constraint, field] of Object.entries(constraints.conflicts ?? {})) {
    if (isUniqueViolation(error, constraint)) {
      const named = resource.charAt(0).toUpperCase() + resource.slice(1);
      throw new ProblemException(409, `${named} with this ${field} already exists`, {
        errors: [{ field, message: 'is already taken' }],
        cause: error,
      });
    }
  }
  for (const [constraint, field] of Object.entries(constraints.references ?? {})) {
    if (isForeignKeyViolation(error, constraint)) {
      throw new ProblemException(400, `The ${field} refers to nothing that exists`, {
        errors: [{ field, message: 'must refer to an existing record' }],
        cause: error,
      });
    }
  }
  throw error;
}
