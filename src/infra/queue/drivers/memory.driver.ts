// Over 250 lines on purpose: one class whose producer side (add, retention) and worker side (pump,
// retries, pause, close) share the same job maps and paused/closing flags; apart, each would reach
// into the other's state.
import { Logger } from '@nestjs/common';
import { settlesWithin } from '../../../common/index.js';
import { backoffDelay } from '../backoff.js';
import {
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

interface MemoryJob {
  id: JobId;
  name: string;
  queue: string;
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
 * dedupe, `attempts` with the same backoff function, `PermanentJobError` stops retries, progress,
 * retention of finished jobs, and `close()` that lets active jobs finish within a grace period.
 * Nothing survives the process: it is for the embedded mode (no Redis) and tests.
 *
 * ```ts
 * const queue = new MemoryQueueDriver({ keepCompletedMs: 60_000, keepFailedMs: 60_000 }, catalog);
 * queue.startWorkers([{ name: 'orders', settings }], (job) => runner.run(job));
 * await queue.add('orders', 'send-invoice', { orderId }, { attempts: 3 });
 * ```
 */
export class MemoryQueueDriver implements QueueDriver {
  readonly sharedAcrossProcesses = false;
  private readonly logger = new Logger('MemoryQueue');
  /** Per queue name, made on first use: the queues are the declared ones, read after construction. */
  private readonly jobs = new Map<string, Map<JobId, MemoryJob>>();
  private readonly ready = new Map<string, MemoryJob[]>();
  private readonly active = new Set<Promise<void>>();
  private run: RunJob | undefined;
  private readonly concurrency = new Map<string, number>();
  private paused = false;
  private closing = false;

  constructor(
    private readonly options: MemoryQueueOptions,
    private readonly declared: DeclaredJobsView,
  ) {}

  add<T>(queue: string, name: string, data: T, callerOptions: JobOptions = {}): Promise<JobId> {
    let opts: JobOptions;
    try {
      opts = this.declared.optionsOf(queue, name, callerOptions);
      assertJobId(opts.jobId);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const id = opts.jobId ?? newJobId();
    const jobs = this.jobsOf(queue);
    if (jobs.has(id)) return Promise.resolve(id);
    // A copy, as Redis would store it: a caller mutating its object later changes nothing.
    const job: MemoryJob = {
      id,
      name,
      queue,
      data: structuredClone(data),
      opts,
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

  counts(queue: string): Promise<QueueCounts> {
    const counts: QueueCounts = { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 };
    for (const job of this.jobsOf(queue).values()) counts[job.state]++;
    return Promise.resolve(counts);
  }

  /** Nothing to check: the jobs live in this process's memory. */
  checkStorage(): Promise<void> {
    return Promise.resolve();
  }

  /** Starts processing the given queues, each with its own concurrency (as a BullMQ worker per queue). */
  startWorkers(queues: readonly WorkerQueue[], run: RunJob): void {
    this.run = run;
    for (const queue of queues) this.concurrency.set(queue.name, queue.settings.concurrency);
    this.closing = false;
    this.paused = false;
    for (const queue of queues) this.pump(queue.name);
  }

  /** Stops taking jobs and resolves once the active ones finished; retries and delayed jobs wait in the queue. */
  async pauseWorkers(): Promise<void> {
    this.paused = true;
    await Promise.allSettled([...this.active]);
  }

  /**
   * Stops taking jobs and waits up to `graceMs` for active ones. Jobs still running then are
   * abandoned with the process (the memory driver has nowhere to return them).
   */
  async closeWorkers(graceMs: number): Promise<void> {
    this.closing = true;
    for (const jobs of this.jobs.values()) for (const job of jobs.values()) clearTimeout(job.timer);
    if (this.active.size === 0) return;
    if (!(await settlesWithin(Promise.allSettled([...this.active]), graceMs)))
      this.logger.warn(`${this.active.size} job(s) still active after ${graceMs} ms; abandoning them`);
  }

  /** No connection to close: the producer side is this object. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private jobsOf(queue: string): Map<JobId, MemoryJob> {
    let jobs = this.jobs.get(queue);
    if (!jobs) {
      jobs = new Map<JobId, MemoryJob>();
      this.jobs.set(queue, jobs);
    }
    return jobs;
  }

  private readyOf(queue: string): MemoryJob[] {
    let ready = this.ready.get(queue);
    if (!ready) {
      ready = [];
      this.ready.set(queue, ready);
    }
    return ready;
  }

  private enqueue(job: MemoryJob): void {
    job.state = 'waiting';
    this.readyOf(job.queue).push(job);
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

  private pump(queue: string): void {
    const ready = this.readyOf(queue);
    const run = this.run;
    const concurrency = this.concurrency.get(queue);
    // No worker for this queue (not started here, or not among the started queues).
    if (!run || concurrency === undefined) return;
    // Concurrency is per queue, as it is per BullMQ worker.
    while (!this.closing && !this.paused && ready.length > 0 && this.activeIn(queue) < concurrency) {
      const job = ready.shift()!;
      const done = this.process(job, run).finally(() => {
        this.active.delete(done);
        this.pump(queue);
      });
      this.active.add(done);
    }
  }

  private activeIn(queue: string): number {
    let count = 0;
    for (const job of this.jobsOf(queue).values()) if (job.state === 'active') count++;
    return count;
  }

  private async process(job: MemoryJob, run: RunJob): Promise<void> {
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
      const retriesLeft = !(error instanceof PermanentJobError) && job.attemptsMade < maxAttempts;
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
  private prune(queue: string): void {
    const now = Date.now();
    const maxCount = this.options.keepFinishedCount ?? 10_000;
    const jobs = this.jobsOf(queue);
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
