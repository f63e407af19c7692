import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { BullRegistrar } from '@nestjs/bullmq';
import type { ConfigType } from '@nestjs/config';
import { settlesWithin } from '../../common/index.js';
import { queueConfig } from '../../config/index.js';
import { MetricsService } from '../metrics/index.js';
import { BullmqQueueDriver, bullmqBackendFactory, bullmqWorkerOptions } from './drivers/bullmq.driver.js';
import { MemoryQueueDriver } from './drivers/memory.driver.js';
import { JobRunner } from './job-runner.js';
import { ConfiguredWorker, EventsProcessor, ImportsProcessor, NotificationsProcessor } from './queue.processors.js';
import { QueueDriver, QueueName } from './queue.types.js';

/** How long a forced close may take before we stop waiting for it. */
const FORCED_CLOSE_MS = 3000;

/**
 * Starts the workers (unless WORKERS=false) once the app is up, and stops them first on shutdown:
 * active jobs get `QUEUE_SHUTDOWN_GRACE_MS` to finish; BullMQ jobs still running then keep their
 * lock until it expires and are picked up again by another worker (stalled-job recovery), so no
 * job is lost. Producers close last, after the HTTP server stopped taking requests.
 */
@Injectable()
export class QueueWorkersService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Queue');
  private started = false;

  constructor(
    @Inject(queueConfig.KEY) private readonly config: ConfigType<typeof queueConfig>,
    @Inject(QueueDriver) private readonly driver: QueueDriver,
    private readonly runner: JobRunner,
    private readonly registrar: BullRegistrar,
    private readonly metrics: MetricsService,
    private readonly events: EventsProcessor,
    private readonly notifications: NotificationsProcessor,
    private readonly imports: ImportsProcessor,
  ) {}

  onApplicationBootstrap(): void {
    this.metrics.onCollect(() => this.collectDepth());
    if (this.driver instanceof BullmqQueueDriver) void this.driver.checkEvictionPolicy();
    if (!this.config.workers) {
      const warning =
        this.driver instanceof MemoryQueueDriver ? ' (memory driver: jobs of this process will never run)' : '';
      this.logger.log(`WORKERS=false: this process only enqueues jobs${warning}`);
      return;
    }
    this.start();
  }

  /** Starts processing; exposed for the worker-only entry and tests. */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.driver instanceof MemoryQueueDriver) {
      this.driver.startWorkers(
        (job) => this.runner.run(job),
        (queue) => this.config.workerSettings[queue].concurrency,
      );
    } else if (this.driver instanceof BullmqQueueDriver) {
      const backend = this.driver.backend;
      ConfiguredWorker.settings = {
        optionsFor: (queue) => bullmqWorkerOptions(backend, this.config.workerSettings[queue]),
        backend: bullmqBackendFactory(backend),
      };
      this.registrar.register();
      for (const processor of this.processors()) {
        processor.worker.on('error', (error: Error) =>
          this.logger.warn(`worker ${processor.worker.name}: ${error.message}`),
        );
      }
    }
    const concurrency = Object.values(QueueName).map(
      (queue) => `${queue} ${this.config.workerSettings[queue].concurrency}`,
    );
    this.logger.log(`Workers started (${this.config.driver}; concurrency ${concurrency.join(', ')})`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (!this.started) return;
    const grace = this.config.shutdownGraceMs;
    if (this.driver instanceof MemoryQueueDriver) {
      await this.driver.close(grace);
      return;
    }
    await Promise.all(
      this.processors().map(async ({ worker }) => {
        if (await settlesWithin(worker.close(), grace)) return;
        this.logger.warn(
          `worker ${worker.name}: jobs still active after ${grace} ms; leaving them to stalled-job recovery`,
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

  async onApplicationShutdown(): Promise<void> {
    if (!(this.driver instanceof BullmqQueueDriver)) return;
    if (!(await settlesWithin(this.driver.close(), FORCED_CLOSE_MS))) {
      this.logger.warn(`queue producers did not close within ${FORCED_CLOSE_MS} ms; leaving them`);
    }
  }

  private processors(): Array<EventsProcessor | NotificationsProcessor | ImportsProcessor> {
    return this.driver instanceof BullmqQueueDriver ? [this.events, this.notifications, this.imports] : [];
  }

  private async collectDepth(): Promise<void> {
    await Promise.all(
      Object.values(QueueName).map(async (queue) => {
        try {
          const counts = await this.driver.counts(queue);
          for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) {
            this.metrics.queueDepth.set({ queue, state }, counts[state]);
          }
        } catch {
          // Queue unreachable: leave the last values; readiness reports the outage.
        }
      }),
    );
  }
}
