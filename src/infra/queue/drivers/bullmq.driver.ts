import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  UnrecoverableError,
  Worker,
  type BackendFactory,
  type BackoffOptions as BullBackoffOptions,
  createPostgresBackend,
  createRedisBackend,
  type ConnectionOptions,
  type IQueueBackend,
  type Job,
  type MinimalJob,
  type JobsOptions,
  Queue,
  type QueueOptions,
  type Telemetry,
  type WorkerOptions,
} from 'bullmq';
import { Redis } from 'ioredis';
import { settlesWithin } from '../../../common/index.js';
import type { QueueWorkerSettings } from '../../../config/index.js';
import { ioredisConnection } from '../../redis/index.js';
import { queueTelemetry } from '../../tracing/index.js';
import { APP_BACKOFF_TYPE, backoffDelay, isAppBackoff } from '../backoff.js';
import {
  type BackoffOptions,
  type JobContext,
  type JobId,
  type JobOptions,
  type JobState,
  type JobStatus,
  PermanentJobError,
  type QueueCounts,
  type QueueDriver,
  type RunJob,
  type WorkerQueue,
} from '../queue.types.js';
import { assertJobId, type DeclaredJobsView, newJobId } from './job-ids.js';

/** How long a forced close of a worker may take before we stop waiting for it. */
const FORCED_CLOSE_MS = 3000;

/** Where BullMQ keeps its data: Redis (keys under `prefix`), or PostgreSQL (tables in `schema`). */
export type BullmqBackend =
  { kind: 'redis'; url: string; prefix: string } | { kind: 'postgres'; url: string; schema: string };

export interface BullmqDriverOptions {
  backend: BullmqBackend;
  keepCompletedMs: number;
  keepFailedMs: number;
}

/**
 * BullMQ over Redis or PostgreSQL (BullMQ 6's Postgres backend). The backend factory is passed to
 * each Queue and Worker rather than set process-wide, so apps on different backends can share a
 * process (as the tests do).
 */
export function bullmqBackendFactory(backend: BullmqBackend): BackendFactory {
  // The Postgres factory takes pg connection options, a different type from Redis's.
  return backend.kind === 'postgres' ? (createPostgresBackend as unknown as BackendFactory) : createRedisBackend;
}

/** Connection options for producers: they fail fast while Redis is down instead of queueing commands. */
function producerConnection(backend: BullmqBackend): ConnectionOptions {
  if (backend.kind === 'postgres') return postgresConnection(backend);
  return ioredisConnection({ url: backend.url }, 'fail-fast');
}

/** Connection options for workers: they wait out outages (`maxRetriesPerRequest: null`, as BullMQ requires). */
export function workerConnection(backend: BullmqBackend): ConnectionOptions {
  if (backend.kind === 'postgres') return postgresConnection(backend);
  return ioredisConnection({ url: backend.url }, 'wait');
}

function postgresConnection(backend: Extract<BullmqBackend, { kind: 'postgres' }>): ConnectionOptions {
  // BullMQ's Postgres backend reads a pg pool config; `migrate` creates its tables on first use.
  return { connectionString: backend.url, schema: backend.schema, migrate: true, max: 5 };
}

/**
 * One queue's worker options. BullMQ renews a running job's lock every `lockDuration / 2`; a job
 * whose worker died is run again by the first stalled-job check after its lock expired, so
 * recovery takes at most about `lockDuration + 2 × stalledInterval` (docs/queue.md).
 */
export function bullmqWorkerOptions(
  backend: BullmqBackend,
  settings: Omit<QueueWorkerSettings, 'maxStalledCount'> & Partial<QueueWorkerSettings>,
): WorkerOptions {
  return {
    connection: workerConnection(backend),
    ...(backend.kind === 'redis' ? { prefix: backend.prefix } : {}),
    concurrency: settings.concurrency,
    lockDuration: settings.lockDurationMs,
    stalledInterval: settings.stalledIntervalMs,
    ...(settings.maxStalledCount !== undefined ? { maxStalledCount: settings.maxStalledCount } : {}),
    settings: { backoffStrategy: appBackoffStrategy },
    ...telemetryOption(),
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
const retention = (keepMs: number): { age: number; count: number } => ({
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
function toBullmqError(error: unknown): unknown {
  if (!(error instanceof PermanentJobError)) return error;
  const unrecoverable = new UnrecoverableError(error.message);
  unrecoverable.stack = error.stack;
  return unrecoverable;
}

export type AppQueue = Queue<unknown, unknown, string, unknown, unknown, string, IQueueBackend>;
export type AppWorker = Worker<unknown, unknown, string, IQueueBackend>;

/**
 * BullMQ as a `QueueDriver`: one `Queue` (producer) per declared queue, made on first use, and
 * one `Worker` per declared queue once `startWorkers` is called, built from `bullmqWorkerOptions`.
 */
export class BullmqQueueDriver implements QueueDriver {
  readonly sharedAcrossProcesses = true;
  private readonly logger = new Logger('BullMQ');
  private readonly producers = new Map<string, AppQueue>();
  /** The running workers by queue name (empty until `startWorkers`). */
  readonly workers = new Map<string, AppWorker>();

  readonly backend: BullmqBackend;
  private readonly queueOptions: QueueOptions;

  /** A small fail-fast client for the storage epoch key (Redis backend only). */
  private readonly epochClient: Redis | undefined;

  constructor(
    private readonly options: BullmqDriverOptions,
    private readonly declared: DeclaredJobsView,
  ) {
    const { backend } = options;
    this.backend = backend;
    if (backend.kind === 'redis') {
      this.epochClient = new Redis({ ...ioredisConnection({ url: backend.url }, 'fail-fast'), lazyConnect: true });
      this.epochClient.on('error', () => undefined); // outages surface as rejected calls
    }
    this.queueOptions = {
      connection: producerConnection(backend),
      ...(backend.kind === 'redis' ? { prefix: backend.prefix } : {}),
      defaultJobOptions: {
        removeOnComplete: retention(options.keepCompletedMs),
        removeOnFail: retention(options.keepFailedMs),
      },
      ...telemetryOption(),
    };
  }

  /** One BullMQ queue per declared queue (the dashboard lists these). */
  get queues(): ReadonlyMap<string, AppQueue> {
    for (const { name } of this.declared.queues()) this.queue(name);
    return this.producers;
  }

  async add<T>(queue: string, name: string, data: T, callerOptions: JobOptions = {}): Promise<JobId> {
    const opts = this.declared.optionsOf(queue, name, callerOptions);
    assertJobId(opts.jobId);
    const jobOptions: JobsOptions = {
      jobId: opts.jobId ?? newJobId(),
      attempts: Math.max(1, opts.attempts ?? 1),
      ...(opts.backoff ? { backoff: toBullBackoff(opts.backoff) } : {}),
      ...(opts.delay !== undefined ? { delay: opts.delay } : {}),
      ...(opts.keepMs !== undefined
        ? { removeOnComplete: retention(opts.keepMs), removeOnFail: retention(opts.keepMs) }
        : {}),
    };
    const job = await this.queue(queue).add(name, data, jobOptions);
    return job.id ?? jobOptions.jobId!;
  }

  async getJob(id: JobId): Promise<JobStatus | undefined> {
    for (const [name, queue] of this.queues) {
      // State first: once it is final, the job's fields (attempts, result) read next are final too.
      const rawState = await queue.getJobState(id);
      if (rawState === 'unknown') continue;
      const job = (await queue.getJob(id)) as Job | undefined;
      if (!job) continue;
      const state = STATES[rawState] ?? 'waiting';
      const progress = typeof job.progress === 'number' ? job.progress : 0;
      return {
        id,
        name: job.name,
        queue: name,
        state,
        progress,
        attempts: job.attemptsMade,
        ...(state === 'completed' ? { result: (job.returnvalue as unknown) ?? null } : {}),
        ...(job.failedReason ? { failedReason: job.failedReason } : {}),
        data: job.data as unknown,
      };
    }
    return undefined;
  }

  async counts(queue: string): Promise<QueueCounts> {
    const counts = await this.queue(queue).getJobCounts(
      'waiting',
      'prioritized',
      'active',
      'delayed',
      'failed',
      'completed',
    );
    return {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
      completed: counts.completed ?? 0,
    };
  }

  /** BullMQ's docs: Redis must not evict keys, or jobs vanish. Warn (not fail) when it would. */
  async checkStorage(): Promise<void> {
    const { backend } = this.options;
    if (backend.kind !== 'redis') return;
    const client = new Redis({ ...ioredisConnection({ url: backend.url }, 'fail-fast'), lazyConnect: true });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const info = await client.info('memory');
      const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
      if (policy && policy !== 'noeviction') {
        this.logger.warn(
          `Redis maxmemory-policy is "${policy}"; BullMQ needs "noeviction" or queued jobs can be evicted`,
        );
      }
    } catch (error) {
      this.logger.warn(
        `could not read Redis maxmemory-policy: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      client.disconnect();
    }
  }

  /**
   * Redis: a random id stored once (`SET NX`) under the queue prefix; a Redis that restarted
   * empty has lost it (and every queued job with it), so the next call stores a new one.
   * PostgreSQL keeps its jobs, so its epoch never changes.
   */
  async storageEpoch(): Promise<string | undefined> {
    if (this.backend.kind !== 'redis' || !this.epochClient) return 'postgres';
    const client = this.epochClient;
    if (client.status === 'wait' || client.status === 'end') await client.connect();
    const key = `${this.backend.prefix}:storage-epoch`;
    await client.set(key, randomUUID(), 'NX');
    const epoch = await client.get(key);
    if (epoch === null) throw new Error('the queue storage epoch vanished between SET and GET');
    return epoch;
  }

  startWorkers(queues: readonly WorkerQueue[], run: RunJob): void {
    const factory = bullmqBackendFactory(this.backend);
    for (const { name, settings } of queues) {
      if (this.workers.has(name)) continue;
      const worker: AppWorker = new Worker<unknown, unknown, string, IQueueBackend>(
        name,
        async (job: Job) => {
          try {
            return await run(jobContextOf(name, job));
          } catch (error) {
            throw toBullmqError(error);
          }
        },
        bullmqWorkerOptions(this.backend, settings),
        factory,
      );
      // Without a listener an 'error' event would crash the process; outages are logged instead.
      worker.on('error', (error: Error) => this.logger.warn(`worker ${name}: ${error.message}`));
      this.workers.set(name, worker);
    }
  }

  async pauseWorkers(): Promise<void> {
    // Waiting for active jobs also interrupts the worker's blocking fetch: with pause(true) a
    // fetch already under way would still take the next job added.
    await Promise.all([...this.workers.values()].map((worker) => worker.pause()));
  }

  /**
   * Active jobs get `graceMs`; those still running then keep their lock until it expires and
   * are run again by another worker (stalled-job recovery), so no job is lost.
   */
  async closeWorkers(graceMs: number): Promise<void> {
    await Promise.all(
      [...this.workers.values()].map(async (worker) => {
        if (await settlesWithin(worker.close(), graceMs)) return;
        this.logger.warn(
          `worker ${worker.name}: jobs still active after ${graceMs} ms; leaving them to stalled-job recovery`,
        );
        // A forced close can itself hang on a connection that Redis dropped and re-established
        // (seen after a Redis restart): bound it, so shutdown always ends.
        if (!(await settlesWithin(worker.close(true), FORCED_CLOSE_MS))) {
          this.logger.warn(`worker ${worker.name}: did not close within ${FORCED_CLOSE_MS} ms; disconnecting`);
          await settlesWithin(worker.disconnect(), FORCED_CLOSE_MS);
        }
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.producers.values()].map((queue) => queue.close()));
    this.epochClient?.disconnect();
  }

  private queue(name: string): AppQueue {
    let queue = this.producers.get(name);
    if (queue) return queue;
    if (!this.declared.queues().some((declared) => declared.name === name)) throw new Error(`unknown queue ${name}`);
    queue = new Queue<unknown, unknown, string, unknown, unknown, string, IQueueBackend>(
      name,
      this.queueOptions,
      bullmqBackendFactory(this.backend),
    );
    // Without a listener an 'error' event would crash the process; outages are logged instead.
    queue.on('error', (error: Error) => this.logger.warn(`queue ${name}: ${error.message}`));
    this.producers.set(name, queue);
    return queue;
  }
}

/**
 * BullMQ's own telemetry (bullmq-otel) when tracing is on: producer spans for `add`, consumer spans
 * for each job, the trace context carried in the job so the consumer continues the producer's trace.
 */
function telemetryOption(): { telemetry?: Telemetry } {
  const telemetry = queueTelemetry() as Telemetry | undefined;
  return telemetry === undefined ? {} : { telemetry };
}
