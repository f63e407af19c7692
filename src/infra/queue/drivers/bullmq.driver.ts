import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
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
  type RedisOptions,
  type WorkerOptions,
} from 'bullmq';
import { Redis } from 'ioredis';
import { APP_BACKOFF_TYPE, backoffDelay, isAppBackoff } from '../backoff.js';
import {
  type BackoffOptions,
  type JobId,
  type JobName,
  type JobOptions,
  type JobState,
  type JobStatus,
  type QueueCounts,
  type QueueDriver,
  QueueName,
} from '../queue.types.js';
import { assertJobPlacement, newJobId } from './job-ids.js';

/** Where BullMQ keeps its data: Redis (keys under `prefix`), or PostgreSQL (tables in `schema`). */
export type BullmqBackend =
  { kind: 'redis'; url: string; prefix: string } | { kind: 'postgres'; url: string; schema: string };

export interface BullmqDriverOptions {
  backend: BullmqBackend;
  keepCompletedMs: number;
  keepFailedMs: number;
}

/** What a worker needs beyond its queue name and processor (per queue: see queue.config.ts). */
export interface BullmqWorkerSettings {
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount?: number;
}

/** ioredis options from a redis:// URL (BullMQ takes options, not URLs). */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.replace('/', '');
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
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
  return {
    ...redisOptionsFromUrl(backend.url),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
  };
}

/** Connection options for workers: they wait out outages (`maxRetriesPerRequest: null`, as BullMQ requires). */
export function workerConnection(backend: BullmqBackend): ConnectionOptions {
  if (backend.kind === 'postgres') return postgresConnection(backend);
  return { ...redisOptionsFromUrl(backend.url), maxRetriesPerRequest: null };
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
export function bullmqWorkerOptions(backend: BullmqBackend, settings: BullmqWorkerSettings): WorkerOptions {
  return {
    connection: workerConnection(backend),
    ...(backend.kind === 'redis' ? { prefix: backend.prefix } : {}),
    concurrency: settings.concurrency,
    lockDuration: settings.lockDurationMs,
    stalledInterval: settings.stalledIntervalMs,
    ...(settings.maxStalledCount !== undefined ? { maxStalledCount: settings.maxStalledCount } : {}),
    settings: { backoffStrategy: appBackoffStrategy },
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

/**
 * The producer side of BullMQ: one `Queue` per `QueueName`. Workers are @nestjs/bullmq processors
 * (see `queue.processors.ts`) built from `bullmqWorkerOptions`.
 */
export type AppQueue = Queue<unknown, unknown, string, unknown, unknown, string, IQueueBackend>;

export class BullmqQueueDriver implements QueueDriver {
  private readonly logger = new Logger('BullMQ');
  /** One BullMQ queue per QueueName (the dashboard lists these). */
  readonly queues: ReadonlyMap<QueueName, AppQueue>;

  readonly backend: BullmqBackend;

  /** A small fail-fast client for the storage epoch key (Redis backend only). */
  private readonly epochClient: Redis | undefined;

  constructor(private readonly options: BullmqDriverOptions) {
    const { backend } = options;
    this.backend = backend;
    if (backend.kind === 'redis') {
      this.epochClient = new Redis({
        ...redisOptionsFromUrl(backend.url),
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
      });
      this.epochClient.on('error', () => undefined); // outages surface as rejected calls
    }
    const factory = bullmqBackendFactory(backend);
    const queueOptions: QueueOptions = {
      connection: producerConnection(backend),
      ...(backend.kind === 'redis' ? { prefix: backend.prefix } : {}),
      defaultJobOptions: {
        removeOnComplete: retention(options.keepCompletedMs),
        removeOnFail: retention(options.keepFailedMs),
      },
    };
    this.queues = new Map(
      Object.values(QueueName).map((name) => {
        const queue: AppQueue = new Queue<unknown, unknown, string, unknown, unknown, string, IQueueBackend>(
          name,
          queueOptions,
          factory,
        );
        // Without a listener an 'error' event would crash the process; outages are logged instead.
        queue.on('error', (error: Error) => this.logger.warn(`queue ${name}: ${error.message}`));
        return [name, queue];
      }),
    );
  }

  async add<T>(queue: QueueName, name: JobName, data: T, opts: JobOptions = {}): Promise<JobId> {
    assertJobPlacement(queue, name, opts.jobId);
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

  async counts(queue: QueueName): Promise<QueueCounts> {
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
  async checkEvictionPolicy(): Promise<void> {
    const { backend } = this.options;
    if (backend.kind !== 'redis') return;
    const client = new Redis({
      ...redisOptionsFromUrl(backend.url),
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
    });
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

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    this.epochClient?.disconnect();
  }

  private queue(name: QueueName): AppQueue {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`unknown queue ${name}`);
    return queue;
  }
}
