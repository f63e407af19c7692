import { randomUUID } from 'node:crypto';
import { JOB_ID_PATTERN, type JobName, QUEUE_OF_JOB, type QueueName } from '../queue.types.js';

/** Raised by `add` for a job on the wrong queue or an id BullMQ would refuse; drivers agree on it. */
export class InvalidJobError extends Error {
  override name = 'InvalidJobError';
}

export function assertJobPlacement(queue: QueueName, name: JobName, jobId: string | undefined): void {
  if (QUEUE_OF_JOB[name] !== queue)
    throw new InvalidJobError(`job "${name}" runs on queue "${QUEUE_OF_JOB[name]}", not "${queue}"`);
  // BullMQ refuses ':' (its key separator) and integers (its own ids) as custom ids.
  if (jobId !== undefined && (!JOB_ID_PATTERN.test(jobId) || /^\d+$/.test(jobId))) {
    throw new InvalidJobError(`job id "${jobId}" must be 1-128 characters of [A-Za-z0-9._-] and not a number`);
  }
}

/** Ids we give jobs ourselves are UUIDs too, so GET /v1/jobs/{id} takes only UUIDs. */
export const newJobId = (): string => randomUUID();
