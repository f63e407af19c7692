import { Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { settlesWithin } from '../../../common/index.js';
import { backoffDelay } from '../backoff.js';
import {
  type JobContext,
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

interface MemoryJob {
  id: JobId;
  name: JobName;
  queue: QueueName;
  data: unknown;
  opts: JobOptions;
  state: JobState;
  progress: number;
  attemptsMade: number;
  result?: unknown;
  failedReason?: string;
  finishedAt?: number;
  timer?: NodeJS.Timeout;
}

export interface MemoryQueueOptions {
  /** Finished jobs stay visible (GET /v1/jobs/{id}) this long, ms. */
  keepCompletedMs: number;
  keepFailedMs: number;
  /** At most this many finished jobs are kept per queue, oldest dropped first. */
  keepFinishedCount?: number;
}

/**
 * An in-process queue with BullMQ's semantics where the service relies on them: custom ids
 * dedupe, `attempts` with the same backoff function, `UnrecoverableError` stops retries, progress,
 * retention of finished jobs, and `close()` that lets active jobs finish within a grace period.
 * Nothing survives the process: it is for the embedded mode (no Redis) and tests.
 *
 * ```ts
 * const queue = new MemoryQueueDriver({ keepCompletedMs: 60_000, keepFailedMs: 60_000 });
 * queue.startWorkers((job) => runner.run(job), 10);
 * await queue.add(QueueName.Imports, JobName.ImportProducts, { items }, { attempts: 3 });
 * ```
 */
export class MemoryQueueDriver implements QueueDriver {
  private readonly logger = new Logger('MemoryQueue');
  private readonly jobs = new Map<QueueName, Map<JobId, MemoryJob>>(
    Object.values(QueueName).map((q) => [q, new Map()]),
  );
  private readonly ready = new Map<QueueName, MemoryJob[]>(Object.values(QueueName).map((q) => [q, []]));
  private readonly active = new Set<Promise<void>>();
  private run: ((job: JobContext) => Promise<unknown>) | undefined;
  private concurrencyOf: (queue: QueueName) => number = () => 1;
  private closing = false;

  constructor(private readonly options: MemoryQueueOptions) {}

  add<T>(queue: QueueName, name: JobName, data: T, opts: JobOptions = {}): Promise<JobId> {
    try {
      assertJobPlacement(queue, name, opts.jobId);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const id = opts.jobId ?? newJobId();
    const jobs = this.jobs.get(queue)!;
    if (jobs.has(id)) return Promise.resolve(id);
    // A copy, as Redis would store it: a caller mutating its object later changes nothing.
    const job: MemoryJob = {
      id,
      name,
      queue,
      data: structuredClone(data),
      opts: { ...opts },
      state: 'waiting',
      progress: 0,
      attemptsMade: 0,
    };
    jobs.set(id, job);
    if (opts.delay !== undefined && opts.delay > 0) this.delay(job, opts.delay);
    else this.enqueue(job);
    return Promise.resolve(id);
  }

  getJob(id: JobId): Promise<JobStatus | undefined> {
    for (const jobs of this.jobs.values()) {
      const job = jobs.get(id);
      if (!job) continue;
      return Promise.resolve({
        id: job.id,
        name: job.name,
        queue: job.queue,
        state: job.state,
        progress: job.progress,
        attempts: job.attemptsMade,
        ...(job.state === 'completed' ? { result: structuredClone(job.result) } : {}),
        ...(job.failedReason !== undefined ? { failedReason: job.failedReason } : {}),
        data: structuredClone(job.data),
      });
    }
    return Promise.resolve(undefined);
  }

  /** Not tracked: a memory queue is per process and keeps nothing across a restart (documented). */
  storageEpoch(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  counts(queue: QueueName): Promise<QueueCounts> {
    const counts: QueueCounts = { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 };
    for (const job of this.jobs.get(queue)!.values()) counts[job.state]++;
    return Promise.resolve(counts);
  }

  /** Starts processing every queue with `concurrency` jobs at a time per queue (a number, or one per queue). */
  startWorkers(run: (job: JobContext) => Promise<unknown>, concurrency: number | ((queue: QueueName) => number)): void {
    this.run = run;
    this.concurrencyOf = typeof concurrency === 'number' ? () => concurrency : concurrency;
    this.closing = false;
    for (const queue of Object.values(QueueName)) this.pump(queue);
  }

  /**
   * Stops taking jobs and waits up to `graceMs` for active ones. Jobs still running then are
   * abandoned with the process (the memory driver has nowhere to return them).
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    for (const jobs of this.jobs.values()) for (const job of jobs.values()) clearTimeout(job.timer);
    if (this.active.size === 0) return;
    if (!(await settlesWithin(Promise.allSettled([...this.active]), graceMs)))
      this.logger.warn(`${this.active.size} job(s) still active after ${graceMs} ms; abandoning them`);
  }

  private enqueue(job: MemoryJob): void {
    job.state = 'waiting';
    this.ready.get(job.queue)!.push(job);
    this.pump(job.queue);
  }

  private delay(job: MemoryJob, ms: number): void {
    job.state = 'delayed';
    job.timer = setTimeout(() => {
      job.timer = undefined;
      this.enqueue(job);
    }, ms);
    job.timer.unref();
  }

  private pump(queue: QueueName): void {
    const ready = this.ready.get(queue)!;
    const run = this.run;
    if (!run) return;
    // Concurrency is per queue, as it is per BullMQ worker.
    while (!this.closing && ready.length > 0 && this.activeIn(queue) < this.concurrencyOf(queue)) {
      const job = ready.shift()!;
      const done = this.process(job, run).finally(() => {
        this.active.delete(done);
        this.pump(queue);
      });
      this.active.add(done);
    }
  }

  private activeIn(queue: QueueName): number {
    let count = 0;
    for (const job of this.jobs.get(queue)!.values()) if (job.state === 'active') count++;
    return count;
  }

  private async process(job: MemoryJob, run: (job: JobContext) => Promise<unknown>): Promise<void> {
    job.state = 'active';
    const maxAttempts = Math.max(1, job.opts.attempts ?? 1);
    const context: JobContext = {
      id: job.id,
      name: job.name,
      queue: job.queue,
      data: structuredClone(job.data),
      attempt: job.attemptsMade + 1,
      maxAttempts,
      updateProgress: (percent) => {
        job.progress = Math.max(0, Math.min(100, percent));
        return Promise.resolve();
      },
    };
    try {
      const result = await run(context);
      job.attemptsMade++;
      job.result = result === undefined ? null : structuredClone(result);
      this.finish(job, 'completed');
    } catch (thrown) {
      job.attemptsMade++;
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      job.failedReason = error.message;
      const retriesLeft = !(error instanceof UnrecoverableError) && job.attemptsMade < maxAttempts;
      if (retriesLeft && !this.closing) {
        const wait = job.opts.backoff ? backoffDelay(job.opts.backoff, job.attemptsMade) : 0;
        if (wait > 0) this.delay(job, wait);
        else this.enqueue(job);
      } else if (retriesLeft) {
        // Closing: it is not retried. The memory driver keeps nothing across a restart (documented);
        // it stays listed as delayed so GET /v1/jobs shows it did not finish.
        job.state = 'delayed';
      } else {
        this.finish(job, 'failed');
      }
    }
  }

  private finish(job: MemoryJob, state: 'completed' | 'failed'): void {
    job.state = state;
    job.finishedAt = Date.now();
    this.prune(job.queue);
  }

  /** Drops finished jobs past their retention (by age and by count), oldest first. */
  private prune(queue: QueueName): void {
    const now = Date.now();
    const maxCount = this.options.keepFinishedCount ?? 10_000;
    const jobs = this.jobs.get(queue)!;
    let finished = 0;
    for (const job of jobs.values()) if (job.finishedAt !== undefined) finished++;
    for (const [id, job] of jobs) {
      if (job.finishedAt === undefined) continue;
      const keepMs =
        job.opts.keepMs ?? (job.state === 'completed' ? this.options.keepCompletedMs : this.options.keepFailedMs);
      if (now - job.finishedAt > keepMs || finished > maxCount) {
        jobs.delete(id);
        finished--;
      }
    }
  }
}
