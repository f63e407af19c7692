import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { type IQueueBackend, type Job, Queue, type QueueOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { JobId, JobOptions, JobStatus, QueueCounts, QueueDriver, RunJob, WorkerQueue } from '../queue.types.js';
import {
  type BullmqBackend,
  bullmqBackendFactory,
  isClusterBackend,
  prefixOption,
  producerConnection,
  sideClient,
  telemetryOption,
} from './bullmq.backend.js';
import { bullmqJobOptions, jobStatusOf, retention } from './bullmq.jobs.js';
import { type AppWorker, BullmqWorkers } from './bullmq.workers.js';
import { assertJobId, type DeclaredJobsView } from './job-ids.js';

export type { BullmqBackend } from './bullmq.backend.js';

export interface BullmqDriverOptions {
  backend: BullmqBackend;
  keepCompletedMs: number;
  keepFailedMs: number;
}

export type AppQueue = Queue<unknown, unknown, string, unknown, unknown, string, IQueueBackend>;

/**
 * BullMQ as a `QueueDriver`: one `Queue` (producer) per declared queue, made on first use, and
 * one `Worker` per declared queue once `startWorkers` is called (`BullmqWorkers`).
 */
export class BullmqQueueDriver implements QueueDriver {
  readonly sharedAcrossProcesses = true;
  private readonly logger = new Logger('BullMQ');
  private readonly producers = new Map<string, AppQueue>();
  private readonly workerSide: BullmqWorkers;

  readonly backend: BullmqBackend;
  private readonly queueOptions: QueueOptions;

  /** A small fail-fast client for the storage epoch key (Redis backend only). */
  private readonly epochClient: Redis | Cluster | undefined;
  /** The producers' cluster client, which BullMQ never closes (it does not own a given client). */
  private readonly clusterClient: Cluster | undefined;

  constructor(
    private readonly options: BullmqDriverOptions,
    private readonly declared: DeclaredJobsView,
  ) {
    const { backend } = options;
    this.backend = backend;
    this.workerSide = new BullmqWorkers(backend);
    if (backend.kind === 'redis') {
      this.epochClient = sideClient(backend);
      this.epochClient.on('error', () => undefined); // outages surface as rejected calls
    }
    const connection = producerConnection(backend);
    if (isClusterBackend(backend)) this.clusterClient = connection as Cluster;
    this.queueOptions = {
      connection,
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

  /** The running workers by queue name (empty until `startWorkers`). */
  get workers(): ReadonlyMap<string, AppWorker> {
    return this.workerSide.byQueue;
  }

  async add<T>(queue: string, name: string, data: T, callerOptions: JobOptions = {}): Promise<JobId> {
    const opts = this.declared.optionsOf(queue, name, callerOptions);
    assertJobId(opts.jobId);
    const jobOptions = bullmqJobOptions(opts);
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
      return jobStatusOf(id, name, rawState, job);
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
    const client = sideClient(backend);
    client.on('error', () => undefined);
    try {
      await client.connect();
      // A cluster: every master keeps queues, so none may evict.
      const nodes = 'nodes' in client ? client.nodes('master') : [client];
      const policies = await Promise.all(
        nodes.map(async (node) => /maxmemory_policy:(\S+)/.exec(await node.info('memory'))?.[1]),
      );
      const policy = policies.find((candidate) => candidate !== undefined && candidate !== 'noeviction');
      if (policy) {
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
    this.workerSide.start(queues, run);
  }

  pauseWorkers(): Promise<void> {
    return this.workerSide.pause();
  }

  closeWorkers(graceMs: number): Promise<void> {
    return this.workerSide.close(graceMs);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.producers.values()].map((queue) => queue.close()));
    this.epochClient?.disconnect();
    this.clusterClient?.disconnect();
  }

  private queue(name: string): AppQueue {
    let queue = this.producers.get(name);
    if (queue) return queue;
    if (!this.declared.queues().some((declared) => declared.name === name)) throw new Error(`unknown queue ${name}`);
    queue = new Queue<unknown, unknown, string, unknown, unknown, string, IQueueBackend>(
      name,
      { ...this.queueOptions, ...prefixOption(this.backend, name) },
      bullmqBackendFactory(this.backend),
    );
    // Without a listener an 'error' event would crash the process; outages are logged instead.
    queue.on('error', (error: Error) => this.logger.warn(`queue ${name}: ${error.message}`));
    this.producers.set(name, queue);
    return queue;
  }
}
