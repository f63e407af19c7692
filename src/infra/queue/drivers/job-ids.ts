import { randomUUID } from 'node:crypto';
import { JOB_ID_PATTERN, type JobDefinition, type JobOptions, type QueueDefinition } from '../queue.types.js';

/** Raised by `add` for an undeclared job, a job on the wrong queue or an id BullMQ would refuse; drivers agree on it. */
export class InvalidJobError extends Error {
  override name = 'InvalidJobError';
}

/** What a driver needs of the declared jobs: which queues exist, and the options an `add` stores. */
export interface DeclaredJobsView {
  queues(): readonly QueueDefinition[];
  optionsOf(queue: string, name: string, opts: JobOptions): JobOptions;
}

/** A fixed set of declared jobs (the catalog's, once read; or a test's). */
export function declaredJobsView(jobs: readonly JobDefinition[]): DeclaredJobsView {
  const byName = new Map(jobs.map((job) => [job.name, job]));
  const queues = [...new Map(jobs.map((job) => [job.queue.name, job.queue])).values()];
  return {
    queues: () => queues,
    optionsOf(queue, name, opts) {
      const job = byName.get(name);
      if (!job) throw new InvalidJobError(`job "${name}" is not declared (provideJobs)`);
      if (job.queue.name !== queue)
        throw new InvalidJobError(`job "${name}" runs on queue "${job.queue.name}", not "${queue}"`);
      return { ...job.options, ...opts };
    },
  };
}

export function assertJobId(jobId: string | undefined): void {
  // BullMQ refuses ':' (its key separator) and integers (its own ids) as custom ids.
  if (jobId !== undefined && (!JOB_ID_PATTERN.test(jobId) || /^\d+$/.test(jobId))) {
    throw new InvalidJobError(`job id "${jobId}" must be 1-128 characters of [A-Za-z0-9._-] and not a number`);
  }
}

/** Ids we give jobs ourselves are UUIDs too, so GET /v1/jobs/{id} takes only UUIDs. */
export const newJobId = (): string => randomUUID();
