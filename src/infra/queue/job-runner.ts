import { Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/index.js';
import { JobCatalog } from './job-catalog.js';
import { type JobContext, PermanentJobError } from './queue.types.js';

/**
 * Runs one attempt of a job through its handler, for every driver alike: times it, counts the
 * outcome, and calls the handler's `onFinalFailure` when this attempt was the last one.
 * It rethrows the handler's error so the driver schedules the retry.
 */
@Injectable()
export class JobRunner {
  private readonly logger = new Logger('Queue');

  constructor(
    private readonly catalog: JobCatalog,
    private readonly metrics: MetricsService,
  ) {}

  async run(job: JobContext): Promise<unknown> {
    const handler = this.catalog.handlerFor(job.name);
    const labels = { queue: job.queue, job: job.name };
    const stopTimer = this.metrics.jobDuration.startTimer(labels);
    try {
      const result = await handler.handle(job);
      this.metrics.jobOutcomes.inc({ ...labels, outcome: 'completed' });
      return result;
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      const final = error instanceof PermanentJobError || job.attempt >= job.maxAttempts;
      this.metrics.jobOutcomes.inc({ ...labels, outcome: final ? 'failed' : 'retried' });
      if (final) {
        this.logger.warn(
          `${job.queue}/${job.name} ${job.id} failed for good after ${job.attempt} attempt(s): ${error.message}`,
        );
        if (handler.onFinalFailure) {
          await handler.onFinalFailure(job, error).catch((hookError: unknown) => {
            this.logger.error(
              `onFinalFailure of ${job.name} ${job.id} failed`,
              hookError instanceof Error ? hookError.stack : hookError,
            );
          });
        }
      }
      throw error;
    } finally {
      stopTimer();
    }
  }
}
