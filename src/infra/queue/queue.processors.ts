import { Processor, WorkerHost } from '@nestjs/bullmq';
import {
  type BackendFactory,
  type IQueueBackend,
  type Job,
  type Processor as BullProcessor,
  Worker,
  type WorkerOptions,
} from 'bullmq';
import { JobRunner } from './job-runner.js';
import { type JobContext, type JobName, QueueName } from './queue.types.js';

/**
 * @nestjs/bullmq builds each worker from static decorator options; the ones that come from config
 * (connection, concurrency and lock settings per queue, backend) are set here just before the
 * workers are registered. One process runs one set of settings at a time (registration is synchronous).
 */
export class ConfiguredWorker extends Worker<unknown, unknown, string, IQueueBackend> {
  static settings: { optionsFor: (queue: QueueName) => WorkerOptions; backend: BackendFactory } | undefined;

  constructor(name: string, processor: BullProcessor<unknown, unknown, string>, options: WorkerOptions) {
    const settings = ConfiguredWorker.settings;
    if (!settings) throw new Error('ConfiguredWorker.settings must be set before workers are registered');
    super(name, processor, { ...options, ...settings.optionsFor(name as QueueName) }, settings.backend);
  }
}

/** What a handler sees of a BullMQ job. */
export function jobContextOf(queue: QueueName, job: Job): JobContext {
  return {
    id: job.id ?? '',
    name: job.name as JobName,
    queue,
    data: job.data as unknown,
    // attemptsMade counts finished attempts; a stalled job re-run keeps its number.
    attempt: job.attemptsMade + 1,
    maxAttempts: Math.max(1, job.opts.attempts ?? 1),
    updateProgress: (percent) => job.updateProgress(Math.max(0, Math.min(100, percent))),
  };
}

/** Runs every job of its queue through the JobRunner, which finds the @JobHandler by job name. */
abstract class QueueProcessor extends WorkerHost {
  protected constructor(
    private readonly queue: QueueName,
    private readonly runner: JobRunner,
  ) {
    super();
  }

  process(job: Job): Promise<unknown> {
    return this.runner.run(jobContextOf(this.queue, job));
  }
}

@Processor(QueueName.Events)
export class EventsProcessor extends QueueProcessor {
  constructor(runner: JobRunner) {
    super(QueueName.Events, runner);
  }
}

@Processor(QueueName.Notifications)
export class NotificationsProcessor extends QueueProcessor {
  constructor(runner: JobRunner) {
    super(QueueName.Notifications, runner);
  }
}

@Processor(QueueName.Imports)
export class ImportsProcessor extends QueueProcessor {
  constructor(runner: JobRunner) {
    super(QueueName.Imports, runner);
  }
}

export const QUEUE_PROCESSORS = [EventsProcessor, NotificationsProcessor, ImportsProcessor];
