import { createHash } from 'node:crypto';
import { SetMetadata } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';

/*
 * The queue's public API: everything a feature module needs, nothing about Redis or BullMQ.
 *
 * 1. Handle a job: an injectable class, listed in your module's `providers`, decorated with
 *    `@JobHandler(JobName.X)`. Exactly one handler per job name, or start-up fails.
 *
 *    ```ts
 *    @JobHandler(JobName.SendWelcomeEmail)
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
 * 2. Enqueue a job directly: inject the driver.
 *
 *    ```ts
 *    constructor(@Inject(QueueDriver) private readonly queue: QueueDriver) {}
 *    const id = await this.queue.add(QueueName.Imports, JobName.ImportProducts, { importId, owner }, { attempts: 1 });
 *    ```
 *
 * 3. React to domain events: see `@EventSubscriber()` in infra/outbox (event-subscriber.ts).
 */

/** Every queue. Workers scale per queue; a slow queue never holds up another. */
export enum QueueName {
  /** One `dispatch-event` job per committed domain event (fan-out to subscribers), and small bookkeeping on events. */
  Events = 'events',
  /** Outgoing messages: webhooks, email. */
  Notifications = 'notifications',
  /**
   * Long-running bulk work reported through GET /v1/jobs/{id}: the only queue whose jobs that
   * route shows (its job data is a `ReportedJobData`). Jobs of the other queues are internal.
   */
  Imports = 'imports',
}

/** Every job name. Each has exactly one `@JobHandler`, checked at start-up. */
export enum JobName {
  /** Owned by the outbox module: fans one domain event out to its subscribers' jobs. */
  DispatchEvent = 'dispatch-event',
  DeliverWebhook = 'deliver-webhook',
  SendWelcomeEmail = 'send-welcome-email',
  ImportProducts = 'import-products',
  /** Removes a deleted product from the view counters (popularity). */
  ForgetProductViews = 'forget-product-views',
}

/** Which queue each job runs on; `add` rejects a job on another queue. */
export const QUEUE_OF_JOB: Readonly<Record<JobName, QueueName>> = {
  [JobName.DispatchEvent]: QueueName.Events,
  [JobName.DeliverWebhook]: QueueName.Notifications,
  [JobName.SendWelcomeEmail]: QueueName.Notifications,
  [JobName.ImportProducts]: QueueName.Imports,
  [JobName.ForgetProductViews]: QueueName.Events,
};

export type JobId = string;

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
 * The data of a job on the `imports` queue, the one GET /v1/jobs/{id} shows. `owner` is the API
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
  queue: QueueName;
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

/**
 * The producer side of a queue. Implementations: BullMQ (Redis or PostgreSQL) and in-memory;
 * both pass the same contract suite (`queue-driver.contract.ts`).
 */
export interface QueueDriver {
  /** Enqueues a job and resolves once it is stored; with an existing `jobId` it adds nothing. */
  add<T>(queue: QueueName, job: JobName, data: T, opts?: JobOptions): Promise<JobId>;
  /** Looks the id up on every queue; `undefined` when unknown (or already pruned). */
  getJob(id: JobId): Promise<JobStatus | undefined>;
  /** Jobs per state on one queue. */
  counts(queue: QueueName): Promise<QueueCounts>;
  /**
   * An id of the queue's storage that changes when the storage loses what it held (a Redis
   * without persistence restarted empty). The outbox sweeper compares it with the last one it
   * saw and, on a change, hands recent events over again. `undefined`: not tracked (memory).
   */
  storageEpoch(): Promise<string | undefined>;
}
export const QueueDriver = Symbol('QueueDriver');

/** What a handler sees of the job it runs. */
export interface JobContext<T = unknown> {
  readonly id: JobId;
  readonly name: JobName;
  readonly queue: QueueName;
  readonly data: T;
  /** 1 on the first try, 2 on the first retry, ... */
  readonly attempt: number;
  /** Total tries allowed (`opts.attempts`). */
  readonly maxAttempts: number;
  /** Reports progress, 0-100; GET /v1/jobs/{id} shows it. */
  updateProgress(percent: number): Promise<void>;
}

/** A job handler: one per `JobName`, registered with `@JobHandler(name)`. */
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
 * receiver answered 410 Gone). It is BullMQ's `UnrecoverableError`, which the memory driver
 * honours too.
 */
export class PermanentJobError extends UnrecoverableError {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

export const JOB_HANDLER_METADATA = 'app:queue:job-handler';

/** Marks a provider as the handler of one job name. */
export const JobHandler = (name: JobName): ClassDecorator => SetMetadata(JOB_HANDLER_METADATA, name);

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
