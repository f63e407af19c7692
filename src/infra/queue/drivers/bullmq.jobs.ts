import {
  type BackoffOptions as BullBackoffOptions,
  type Job,
  type JobsOptions,
  type MinimalJob,
  UnrecoverableError,
} from 'bullmq';
import { APP_BACKOFF_TYPE, backoffDelay, isAppBackoff } from '../backoff.js';
import {
  type BackoffOptions,
  type JobContext,
  type JobId,
  type JobOptions,
  type JobState,
  type JobStatus,
  PermanentJobError,
} from '../queue.types.js';
import { newJobId } from './job-ids.js';

/*
 * Our driver-neutral job types to and from BullMQ's: options, backoff, retention, states, the
 * handler's context and the "do not retry" error.
 */

/** BullMQ's JobsOptions for one `add` (the declared defaults already merged with the caller's). */
export function bullmqJobOptions(opts: JobOptions): JobsOptions {
  return {
    jobId: opts.jobId ?? newJobId(),
    attempts: Math.max(1, opts.attempts ?? 1),
    ...(opts.backoff ? { backoff: toBullBackoff(opts.backoff) } : {}),
    ...(opts.delay !== undefined ? { delay: opts.delay } : {}),
    ...(opts.keepMs !== undefined
      ? { removeOnComplete: retention(opts.keepMs), removeOnFail: retention(opts.keepMs) }
      : {}),
  };
}

/** BullMQ calls this for our backoff type: the same function the memory driver uses. */
export function appBackoffStrategy(attemptsMade: number, _type?: string, _error?: Error, job?: MinimalJob): number {
  const stored: unknown = job?.opts.backoff;
  if (!isAppBackoff(stored)) return 0;
  return backoffDelay(
    { type: stored.strategy, delay: stored.delay, jitter: stored.jitter, maxDelay: stored.maxDelay },
    attemptsMade,
  );
}

function toBullBackoff(backoff: BackoffOptions): BullBackoffOptions {
  // Extra fields ride along in job.opts.backoff, where appBackoffStrategy reads them.
  return {
    type: APP_BACKOFF_TYPE,
    strategy: backoff.type,
    delay: backoff.delay,
    jitter: backoff.jitter,
    maxDelay: backoff.maxDelay,
  } as BullBackoffOptions;
}

/** BullMQ's removeOnComplete/removeOnFail: by age, and at most 100 000 finished jobs per queue. */
export const retention = (keepMs: number): { age: number; count: number } => ({
  age: Math.ceil(keepMs / 1000),
  count: 100_000,
});

const STATES: Record<string, JobState> = {
  waiting: 'waiting',
  prioritized: 'waiting',
  'waiting-children': 'waiting',
  active: 'active',
  completed: 'completed',
  failed: 'failed',
  delayed: 'delayed',
};

/** A BullMQ job as GET /v1/jobs/{id} shows it; `rawState` is read before the job (see `getJob`). */
export function jobStatusOf(id: JobId, queue: string, rawState: string, job: Job): JobStatus {
  const state = STATES[rawState] ?? 'waiting';
  const progress = typeof job.progress === 'number' ? job.progress : 0;
  return {
    id,
    name: job.name,
    queue,
    state,
    progress,
    attempts: job.attemptsMade,
    ...(state === 'completed' ? { result: (job.returnvalue as unknown) ?? null } : {}),
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
    data: job.data as unknown,
  };
}

/** What a handler sees of a BullMQ job. */
export function jobContextOf(queue: string, job: Job): JobContext {
  return {
    id: job.id ?? '',
    name: job.name,
    queue,
    data: job.data as unknown,
    // attemptsMade counts finished attempts; a stalled job re-run keeps its number.
    attempt: job.attemptsMade + 1,
    maxAttempts: Math.max(1, job.opts.attempts ?? 1),
    updateProgress: (percent) => job.updateProgress(Math.max(0, Math.min(100, percent))),
  };
}

/** BullMQ's own "do not retry": our driver-neutral `PermanentJobError` becomes one, message and stack kept. */
export function toBullmqError(error: unknown): unknown {
  if (!(error instanceof PermanentJobError)) return error;
  const unrecoverable = new UnrecoverableError(error.message);
  unrecoverable.stack = error.stack;
  return unrecoverable;
}
