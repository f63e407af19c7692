// Over 250 lines on purpose: the queue's whole public API (declare, handle, enqueue, the driver
// interface) with its usage guide, read top to bottom by whoever adds a job; most of it is doc comments.
import { createHash } from 'node:crypto';
import { SetMetadata } from '@nestjs/common';
import type { QueueWorkerSettings, WorkerProfile } from '../../config/index.js';

/*
 * The queue's public API: everything a feature module needs, nothing about Redis or BullMQ.
 * The queue module knows no job of any feature: each feature declares its own, next to its handler.
 *
 * 1. Declare a job (and, if none of the existing ones fits, its queue) in your feature's folder,
 *    and list the declaration in your module's `providers` with `provideJobs(...)`:
 *
 *    ```ts
 *    export const NOTIFICATIONS_QUEUE = defineQueue({ name: 'notifications', workers: 'short' });
 *    export const SEND_WELCOME_EMAIL = defineJob<WelcomeEmailJob>({
 *      name: 'send-welcome-email',
 *      queue: NOTIFICATIONS_QUEUE,
 *      options: { attempts: 5, backoff: { type: 'exponential', delay: 1000 } }, // defaults of every add
 *    });
 *    // notifications.module.ts: providers: [provideJobs(SEND_WELCOME_EMAIL), WelcomeEmailHandler, ...]
 *    ```
 *
 * 2. Handle it: an injectable class in the same module's `providers`, decorated with
 *    `@JobHandler(SEND_WELCOME_EMAIL)`. Start-up fails unless every declared job has exactly one
 *    handler and every handler's job is declared.
 *
 *    ```ts
 *    @JobHandler(SEND_WELCOME_EMAIL)
 *    export class WelcomeEmailHandler implements QueueJobHandler<WelcomeEmailJob> {
 *      async handle(job: JobContext<WelcomeEmailJob>): Promise<void> {
 *        // Idempotent: a job can run more than once (crash, stalled lock, redelivery).
 *        if (job.attempt > 1) ...;
 *        throw new PermanentJobError('410 Gone');   // stops retrying at once (no more attempts)
 *      }
 *      // Optional: after the last attempt failed, or a PermanentJobError (dead-lettering goes here).
 *      async onFinalFailure(job: JobContext<WelcomeEmailJob>, error: Error): Promise<void> {}
 *    }
 *    ```
 *
 * 3. Enqueue it directly: inject the driver.
 *
 *    ```ts
 *    constructor(@Inject(QueueDriver) private readonly queue: QueueDriver) {}
 *    const id = await enqueue(this.queue, IMPORT_PRODUCTS, { importId, owner }, { jobId: importId });
 *    ```
 *
 * 4. React to domain events: see `@EventSubscriber()` in infra/outbox (event-subscriber.ts).
 */

export type JobId = string;

/**
 * A queue, declared by the module whose jobs run on it. Workers scale per queue; a slow queue
 * never holds up another, so give long or bursty work a queue of its own.
 */
export interface QueueDefinition {
  /** The queue's name in the storage (BullMQ keys, metrics labels, the dashboard). */
  readonly name: string;
  /** Which worker settings of `queue.config.ts` its workers run with (concurrency, lock, stalls). */
  readonly workers: WorkerProfile;
  /**
   * GET /v1/jobs/{id} shows this queue's jobs (to the API key in `ReportedJobData.owner`); the
   * jobs of every other queue are internal and answer 404 there.
   */
  readonly reported?: boolean;
}

export const defineQueue = (queue: QueueDefinition): QueueDefinition => Object.freeze({ ...queue });

/** The options a job declares once: the defaults of every `add` of it (an `add` may override them). */
export type DeclaredJobOptions = Pick<JobOptions, 'attempts' | 'backoff' | 'keepMs'>;

/** A job, declared by the feature that handles it; `T` is its data. */
export interface JobDefinition<T = unknown> {
  readonly name: string;
  readonly queue: QueueDefinition;
  readonly options: DeclaredJobOptions;
  /** Types only: ties the data type to the declaration. */
  readonly __data?: T;
}

export const defineJob = <T>(job: {
  name: string;
  queue: QueueDefinition;
  options?: DeclaredJobOptions;
}): JobDefinition<T> => Object.freeze({ name: job.name, queue: job.queue, options: { ...job.options } });

/** The jobs one module declares, as a provider; the queue module collects every one at start-up. */
export class DeclaredJobs {
  constructor(readonly jobs: readonly JobDefinition[]) {}
}

/** `providers: [provideJobs(SEND_WELCOME_EMAIL, ...)]` in the module that handles these jobs. */
export function provideJobs(...jobs: JobDefinition[]): { provide: symbol; useValue: DeclaredJobs } {
  return { provide: Symbol(`jobs ${jobs.map((job) => job.name).join(', ')}`), useValue: new DeclaredJobs(jobs) };
}

/**
 * Retry delays. `exponential`: the n-th retry waits `delay × 2^(n-1)`; with `jitter: 0.5` a
 * random time between half and all of it (so waits never shrink), then at most `maxDelay`.
 * `fixed`: always `delay` (with jitter, between (1-jitter)×delay and delay).
 */
export interface BackoffOptions {
  type: 'exponential' | 'fixed';
  /** Base delay, ms. */
  delay: number;
  /** 0..1, the share of the step that is random. Default 0. */
  jitter?: number;
  /** Upper bound of any single wait, ms. Default: none. */
  maxDelay?: number;
}

export interface JobOptions {
  /**
   * Custom id: adding a job whose id already exists is a no-op that returns that id (dedupe).
   * Only `[A-Za-z0-9._-]`, up to 128 characters (BullMQ forbids ':'); use `jobIdOf(...)`.
   */
  jobId?: JobId;
  /** Total tries including the first. Default 1. */
  attempts?: number;
  backoff?: BackoffOptions;
  /** Wait this long (ms) before the first try. */
  delay?: number;
  /** How long the finished job stays readable, ms. Default: QUEUE_KEEP_COMPLETED_SECONDS / QUEUE_KEEP_FAILED_SECONDS. */
  keepMs?: number;
}

/**
 * The data of a job on a `reported` queue, the jobs GET /v1/jobs/{id} shows. `owner` is the API
 * key name that created it: only a request presenting that key sees the job (null: anyone with the id).
 */
export interface ReportedJobData {
  owner: string | null;
}

export type JobState = 'waiting' | 'active' | 'completed' | 'failed' | 'delayed';

/** A job as GET /v1/jobs/{id} shows it. */
export interface JobStatus {
  id: JobId;
  name: string;
  queue: string;
  state: JobState;
  /** 0-100 */
  progress: number;
  /** Tries made so far (finished ones: failed or completed). */
  attempts: number;
  result?: unknown;
  failedReason?: string;
  /** The job's data as it was added (GET /v1/jobs/{id} reads only `ReportedJobData.owner` from it). */
  data: unknown;
}

/** Jobs per state, for the queue_depth gauge. */
export type QueueCounts = Record<'waiting' | 'active' | 'delayed' | 'failed' | 'completed', number>;

/** One queue's workers as the queue module asks a driver to start them. */
export interface WorkerQueue {
  readonly name: string;
  readonly settings: QueueWorkerSettings;
}

/** Runs one attempt of a job (the JobRunner: handler lookup, metrics, final-failure hook); throws to fail it. */
export type RunJob = (job: JobContext) => Promise<unknown>;

/**
 * A queue backend: the producer side (`add`, `getJob`, `counts`) and the worker side (start,
 * pause, close). Implementations: BullMQ (Redis or PostgreSQL) and in-memory; both pass the same
 * contract suite (`queue-driver.contract.spec.ts`). Jobs are checked against the declared ones
 * (`provideJobs`): an undeclared job, or one added to another queue than its own, is refused.
 */
export interface QueueDriver {
  /** Enqueues a job and resolves once it is stored; with an existing `jobId` it adds nothing. */
  add<T>(queue: string, job: string, data: T, opts?: JobOptions): Promise<JobId>;
  /** Looks the id up on every declared queue; `undefined` when unknown (or already pruned). */
  getJob(id: JobId): Promise<JobStatus | undefined>;
  /** Jobs per state on one queue. */
  counts(queue: string): Promise<QueueCounts>;
  /**
   * An id of the queue's storage that changes when the storage loses what it held (a Redis
   * without persistence restarted empty). The outbox sweeper compares it with the last one it
   * saw and, on a change, hands recent events over again. `undefined`: not tracked (memory).
   */
  storageEpoch(): Promise<string | undefined>;
  /**
   * Whether another process can run the jobs this one adds. `false` (memory): a process with
   * WORKERS=false would hold jobs that never run.
   */
  readonly sharedAcrossProcesses: boolean;
  /** Logs a warning when the storage is set up in a way that can lose jobs (BullMQ: Redis evicting keys). */
  checkStorage(): Promise<void>;
  /** Starts one worker per queue, running each job through `run`; called once per process. */
  startWorkers(queues: readonly WorkerQueue[], run: RunJob): void;
  /**
   * Workers stop taking jobs; resolves once the active ones finished (not bounded: a caller that
   * must end in time closes with `closeWorkers(graceMs)` instead).
   */
  pauseWorkers(): Promise<void>;
  /**
   * Stops the workers: active jobs get `graceMs` to finish. Jobs still running then are left to
   * the storage's recovery (BullMQ: their lock expires and another worker runs them again;
   * memory: lost with the process). Always ends, even on a storage that stopped answering.
   */
  closeWorkers(graceMs: number): Promise<void>;
  /** Closes the producer side (after the workers, once nothing enqueues any more). */
  close(): Promise<void>;
}
export const QueueDriver = Symbol('QueueDriver');

/** Adds a declared job: its queue and name from the declaration, its data typed by it. */
export function enqueue<T>(driver: QueueDriver, job: JobDefinition<T>, data: T, opts?: JobOptions): Promise<JobId> {
  return driver.add(job.queue.name, job.name, data, opts);
}

/** What a handler sees of the job it runs. */
export interface JobContext<T = unknown> {
  readonly id: JobId;
  readonly name: string;
  readonly queue: string;
  readonly data: T;
  /** 1 on the first try, 2 on the first retry, ... */
  readonly attempt: number;
  /** Total tries allowed (`opts.attempts`). */
  readonly maxAttempts: number;
  /** Reports progress, 0-100; GET /v1/jobs/{id} shows it. */
  updateProgress(percent: number): Promise<void>;
}

/** A job handler: one per declared job, registered with `@JobHandler(job)`. */
export interface QueueJobHandler<T = unknown, R = unknown> {
  /** Throw to fail this attempt (it is retried while attempts remain). Must be idempotent. */
  handle(job: JobContext<T>): Promise<R>;
  /**
   * Called once the job has failed for good: its last attempt threw, or it threw a
   * `PermanentJobError`. Must not throw (errors are logged). Can run twice after a crash.
   */
  onFinalFailure?(job: JobContext<T>, error: Error): Promise<void>;
}

/**
 * Thrown by a handler to fail the job at once with no further retries (e.g. a webhook
 * receiver answered 410 Gone). Each driver maps it to its own "do not retry" (BullMQ:
 * `UnrecoverableError`).
 */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

export const JOB_HANDLER_METADATA = 'app:queue:job-handler';

/** Marks a provider as the handler of one declared job. */
export const JobHandler = (job: JobDefinition): ClassDecorator => SetMetadata(JOB_HANDLER_METADATA, job);

const SAFE_PART = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * A deterministic, BullMQ-safe job id from its parts: safe parts are kept, anything else
 * (a URL, say) is replaced by a short hash. `jobIdOf(event.id, 'https://a/b')` →
 * `"<event-id>.<hash>"`.
 */
export function jobIdOf(...parts: string[]): JobId {
  return parts
    .map((part) => (SAFE_PART.test(part) ? part : createHash('sha256').update(part).digest('base64url').slice(0, 16)))
    .join('.');
}

export const JOB_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
