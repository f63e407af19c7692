import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { settlesWithin } from '../../common/index.js';
import { queueConfig } from '../../config/index.js';
import { MetricsService } from '../metrics/index.js';
import { JobCatalog } from './job-catalog.js';
import { JobRunner } from './job-runner.js';
import { QueueDriver, type WorkerQueue } from './queue.types.js';

/** How long closing the producers may take before we stop waiting for it. */
const PRODUCER_CLOSE_MS = 3000;

/**
 * Starts the driver's workers for the declared queues (unless WORKERS=false) once the app is up,
 * and stops them first on shutdown: active jobs get `QUEUE_SHUTDOWN_GRACE_MS` to finish (what
 * happens to the rest is the driver's, see `QueueDriver.closeWorkers`). Producers close last,
 * after the HTTP server stopped taking requests.
 */
@Injectable()
export class QueueWorkersService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Queue');
  private started = false;

  constructor(
    @Inject(queueConfig.KEY) private readonly config: ConfigType<typeof queueConfig>,
    @Inject(QueueDriver) private readonly driver: QueueDriver,
    private readonly catalog: JobCatalog,
    private readonly runner: JobRunner,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    this.metrics.onCollect(() => this.collectDepth());
    void this.driver.checkStorage();
    if (!this.config.workers) {
      const warning = this.driver.sharedAcrossProcesses
        ? ''
        : ` (${this.config.driver} driver: jobs of this process will never run)`;
      this.logger.log(`WORKERS=false: this process only enqueues jobs${warning}`);
      return;
    }
    this.start();
  }

  /** Starts processing; exposed for the worker-only entry and tests. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const queues: WorkerQueue[] = this.catalog
      .queues()
      .map((queue) => ({ name: queue.name, settings: this.config.workerProfiles[queue.workers] }));
    this.driver.startWorkers(queues, (job) => this.runner.run(job));
    const concurrency = queues.map((queue) => `${queue.name} ${queue.settings.concurrency}`);
    this.logger.log(`Workers started (${this.config.driver}; concurrency ${concurrency.join(', ')})`);
  }

  /** Stops taking jobs and resolves once the active ones finished; for a process that must drain first. */
  pause(): Promise<void> {
    return this.driver.pauseWorkers();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (!this.started) return;
    await this.driver.closeWorkers(this.config.shutdownGraceMs);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!(await settlesWithin(this.driver.close(), PRODUCER_CLOSE_MS))) {
      this.logger.warn(`queue producers did not close within ${PRODUCER_CLOSE_MS} ms; leaving them`);
    }
  }

  private async collectDepth(): Promise<void> {
    await Promise.all(
      this.catalog.queues().map(async ({ name: queue }) => {
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
