import { isUniqueViolation, type WriteOutcome } from '../database/index.js';
import { preconditionFailed } from './etag.js';
import { ProblemException } from './problem.js';

export const notFound = (resource: string): ProblemException => new ProblemException(404, `${resource} not found`);

/** The entity a conditional write produced, or the 404/412 that explains why there is none. */
export function entityOrFail<T>(outcome: WriteOutcome<T>, resource: string): T {
  if (outcome.status === 'done') return outcome.entity;
  throw outcome.status === 'not-found' ? notFound(resource) : preconditionFailed();
}

/**
 * Maps a unique violation on `constraint` to a 409 naming the field; rethrows anything else.
 * The constraint decides, never a pre-check, so two racing writers cannot both succeed.
 */
export function rethrowAsConflict(error: unknown, constraint: string, field: string, detail: string): never {
  if (isUniqueViolation(error, constraint)) {
    throw new ProblemException(409, detail, { errors: [{ field, message: 'is already taken' }], cause: error });
  }
  throw error;
}
