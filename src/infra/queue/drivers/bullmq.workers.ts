import { Logger } from '@nestjs/common';
import { type IQueueBackend, type Job, Worker, type WorkerOptions } from 'bullmq';
import type { Cluster } from 'ioredis';
import { settlesWithin } from '../../../common/index.js';
import type { QueueWorkerSettings } from '../../../config/index.js';
import type { RunJob, WorkerQueue } from '../queue.types.js';
import {
  type BullmqBackend,
  bullmqBackendFactory,
  isClusterBackend,
  prefixOption,
  telemetryOption,
  workerConnection,
} from './bullmq.backend.js';
import { appBackoffStrategy, jobContextOf, toBullmqError } from './bullmq.jobs.js';

/** How long a forced close of a worker may take before we stop waiting for it. */
const FORCED_CLOSE_MS = 3000;

export type AppWorker = Worker<unknown, unknown, string, IQueueBackend>;

/**
 * One queue's worker options. BullMQ renews a running job's lock every `lockDuration / 2`; a job
 * whose worker died is run again by the first stalled-job check after its lock expired, so
 * recovery takes at most about `lockDuration + 2 × stalledInterval` (docs/queue.md).
 */
export function bullmqWorkerOptions(
  backend: BullmqBackend,
  settings: Omit<QueueWorkerSettings, 'maxStalledCount'> & Partial<QueueWorkerSettings>,
  queue = '',
): WorkerOptions {
  return {
    connection: workerConnection(backend),
    ...prefixOption(backend, queue),
    concurrency: settings.concurrency,
    lockDuration: settings.lockDurationMs,
    stalledInterval: settings.stalledIntervalMs,
    ...(settings.maxStalledCount !== undefined ? { maxStalledCount: settings.maxStalledCount } : {}),
    settings: { backoffStrategy: appBackoffStrategy },
    ...telemetryOption(),
  };
}

/** The worker side of the BullMQ driver: one `Worker` per queue, started, paused and closed together. */
export class BullmqWorkers {
  private readonly logger = new Logger('BullMQ');
  /** The running workers by queue name (empty until `start`). */
  readonly byQueue = new Map<string, AppWorker>();
  /** Cluster clients made for the workers, which BullMQ never closes (it does not own a given client). */
  private readonly clusterClients: Cluster[] = [];

  constructor(private readonly backend: BullmqBackend) {}

  start(queues: readonly WorkerQueue[], run: RunJob): void {
    const factory = bullmqBackendFactory(this.backend);
    for (const { name, settings } of queues) {
      if (this.byQueue.has(name)) continue;
      const worker: AppWorker = new Worker<unknown, unknown, string, IQueueBackend>(
        name,
        async (job: Job) => {
          try {
            return await run(jobContextOf(name, job));
          } catch (error) {
            throw toBullmqError(error);
          }
        },
        this.workerOptions(name, settings),
        factory,
      );
      // Without a listener an 'error' event would crash the process; outages are logged instead.
      worker.on('error', (error: Error) => this.logger.warn(`worker ${name}: ${error.message}`));
      this.byQueue.set(name, worker);
    }
  }

  private workerOptions(queue: string, settings: QueueWorkerSettings): WorkerOptions {
    const options = bullmqWorkerOptions(this.backend, settings, queue);
    if (isClusterBackend(this.backend)) this.clusterClients.push(options.connection as Cluster);
    return options;
  }

  async pause(): Promise<void> {
    // Waiting for active jobs also interrupts the worker's blocking fetch: with pause(true) a
    // fetch already under way would still take the next job added.
    await Promise.all([...this.byQueue.values()].map((worker) => worker.pause()));
  }

  /**
   * Active jobs get `graceMs`; those still running then keep their lock until it expires and
   * are run again by another worker (stalled-job recovery), so no job is lost.
   */
  async close(graceMs: number): Promise<void> {
    await Promise.all(
      [...this.byQueue.values()].map(async (worker) => {
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
    for (const client of this.clusterClients.splice(0)) client.disconnect();
  }
}
