/* The ONE contract every queue driver passes: memory, BullMQ on Redis, BullMQ on PostgreSQL.
 * It boots the real QueueModule (config, job catalog, the driver and its workers, JobRunner) in a
 * Nest testing module, with jobs declared here (infra knows no feature's jobs) and a test handler
 * for each. Over 250 lines on purpose: one suite, so no driver passes only part of it. */
import { randomBytes } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/database.js';
import { deleteKeys } from '../../../test/support/redis-keys.js';
import { TEST_REDIS_URL } from '../../../test/support/services.js';
import { AppConfigModule } from '../../config/app-config.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { QueueModule } from './queue.module.js';
import { QueueWorkersService } from './queue-workers.service.js';
import {
  defineJob,
  defineQueue,
  type JobContext,
  type JobDefinition,
  JobHandler,
  PermanentJobError,
  provideJobs,
  QueueDriver,
  type QueueJobHandler,
} from './queue.types.js';

type Behaviour = (job: JobContext) => Promise<unknown>;

/** The test's queues: two with the short-jobs settings, one with the long-jobs settings (IMPORT_*). */
const QueueName = { Events: 'contract-events', Notifications: 'contract-notifications', Imports: 'contract-imports' };
const QUEUES = {
  [QueueName.Events]: defineQueue({ name: QueueName.Events, workers: 'short' }),
  [QueueName.Notifications]: defineQueue({ name: QueueName.Notifications, workers: 'short' }),
  [QueueName.Imports]: defineQueue({ name: QueueName.Imports, workers: 'long', reported: true }),
};
const JobName = {
  Dispatch: 'contract-dispatch',
  Deliver: 'contract-deliver',
  Send: 'contract-send',
  Import: 'contract-import',
  /** Declares its own attempts and backoff. */
  Retried: 'contract-retried',
} as const;
type JobName = (typeof JobName)[keyof typeof JobName];
const JOBS: Record<JobName, JobDefinition> = {
  [JobName.Dispatch]: defineJob({ name: JobName.Dispatch, queue: QUEUES[QueueName.Events]! }),
  [JobName.Deliver]: defineJob({ name: JobName.Deliver, queue: QUEUES[QueueName.Notifications]! }),
  [JobName.Send]: defineJob({ name: JobName.Send, queue: QUEUES[QueueName.Notifications]! }),
  [JobName.Import]: defineJob({ name: JobName.Import, queue: QUEUES[QueueName.Imports]! }),
  [JobName.Retried]: defineJob({
    name: JobName.Retried,
    queue: QUEUES[QueueName.Events]!,
    options: { attempts: 3, backoff: { type: 'fixed', delay: 10 } },
  }),
};

/** What the test handlers saw; tests set `behaviour` per job name. */
const journal = {
  behaviour: new Map<JobName, Behaviour>(),
  runs: [] as Array<{ id: string; name: JobName; attempt: number; maxAttempts: number; data: unknown; at: number }>,
  finalFailures: [] as Array<{ id: string; attempt: number; message: string }>,
  reset(): void {
    this.behaviour.clear();
    this.runs.length = 0;
    this.finalFailures.length = 0;
  },
};

function testHandler(name: JobName | JobDefinition): new () => QueueJobHandler {
  const declared = typeof name === 'string' ? JOBS[name] : name;
  @Injectable()
  @JobHandler(declared)
  class ContractHandler implements QueueJobHandler {
    async handle(job: JobContext): Promise<unknown> {
      journal.runs.push({
        id: job.id,
        name: job.name as JobName,
        attempt: job.attempt,
        maxAttempts: job.maxAttempts,
        data: job.data,
        at: Date.now(),
      });
      const behaviour = journal.behaviour.get(job.name as JobName);
      return behaviour ? behaviour(job) : { echoed: job.data };
    }

    onFinalFailure(job: JobContext, error: Error): Promise<void> {
      journal.finalFailures.push({ id: job.id, attempt: job.attempt, message: error.message });
      return Promise.resolve();
    }
  }
  Object.defineProperty(ContractHandler, 'name', { value: `ContractHandler_${declared.name}` });
  return ContractHandler;
}

/** Boots QueueModule alone with `env` applied while config is read, every test job declared. */
async function bootQueueModule(
  env: Record<string, string>,
  handlers: Array<JobName | JobDefinition> = Object.values(JobName),
): Promise<INestApplicationContext> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [AppConfigModule, MetricsModule, QueueModule],
      providers: [provideJobs(...Object.values(JOBS)), ...handlers.map(testHandler)],
    })
      .setLogger({
        log: () => undefined,
        warn: () => undefined,
        error: (m: unknown) => console.error(m),
        debug: () => undefined,
        verbose: () => undefined,
      })
      .compile();
    return await moduleRef.init();
  } finally {
    process.env = saved;
  }
}

async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let counter = 0;
const uniqueId = (label: string): string => `${label}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

/**
 * The shared suite. `setup` returns the env for the driver under test (and a cleanup).
 */
function describeQueueDriverContract(
  label: string,
  setup: () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>,
): void {
  describe(`QueueDriver contract: ${label}`, () => {
    let app: INestApplicationContext;
    let queue: QueueDriver;
    let cleanup: () => Promise<void>;
    let env: Record<string, string>;

    beforeAll(async () => {
      const prepared = await setup();
      cleanup = prepared.cleanup;
      // The imports queue has its own concurrency; a pool big enough for both (workers get at most half).
      env = { QUEUE_CONCURRENCY: '4', IMPORT_CONCURRENCY: '4', DATABASE_POOL_SIZE: '16', ...prepared.env };
      app = await bootQueueModule(env);
      queue = app.get<QueueDriver>(QueueDriver);
    });

    afterAll(async () => {
      await app?.close();
      await cleanup?.();
    });

    beforeEach(() => journal.reset());

    const finished = (id: string) =>
      eventually(async () => {
        const job = await queue.getJob(id);
        return job && (job.state === 'completed' || job.state === 'failed') ? job : undefined;
      }, `job ${id} to finish`);

    it('runs a job with its data, and reports its result, progress and attempts', async () => {
      journal.behaviour.set(JobName.Import, async (job) => {
        await job.updateProgress(40);
        return { sum: (job.data as { a: number; b: number }).a + (job.data as { a: number; b: number }).b };
      });
      const id = await queue.add(QueueName.Imports, JobName.Import, { a: 2, b: 3 });
      const job = await finished(id);
      expect(job).toMatchObject({
        id,
        name: JobName.Import,
        queue: QueueName.Imports,
        state: 'completed',
        progress: 40,
        attempts: 1,
        result: { sum: 5 },
      });
      expect(journal.runs).toEqual([expect.objectContaining({ id, attempt: 1, maxAttempts: 1, data: { a: 2, b: 3 } })]);
    });

    it('treats a custom job id that exists as a no-op (dedupe)', async () => {
      const id = uniqueId('dedupe');
      expect(await queue.add(QueueName.Imports, JobName.Import, { n: 1 }, { jobId: id })).toBe(id);
      expect(await queue.add(QueueName.Imports, JobName.Import, { n: 2 }, { jobId: id })).toBe(id);
      await finished(id);
      expect(await queue.add(QueueName.Imports, JobName.Import, { n: 3 }, { jobId: id })).toBe(id);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(journal.runs.filter((run) => run.id === id).map((run) => run.data)).toEqual([{ n: 1 }]);
    });

    it('retries a failing job with backoff until it succeeds, the waits never shrinking', async () => {
      journal.behaviour.set(JobName.Deliver, (job) =>
        job.attempt < 4 ? Promise.reject(new Error(`boom ${job.attempt}`)) : Promise.resolve('ok'),
      );
      const id = await queue.add(
        QueueName.Notifications,
        JobName.Deliver,
        {},
        {
          attempts: 5,
          backoff: { type: 'exponential', delay: 100, jitter: 0.5, maxDelay: 10_000 },
        },
      );
      const job = await finished(id);
      expect(job).toMatchObject({ state: 'completed', attempts: 4, result: 'ok' });
      const runs = journal.runs.filter((run) => run.id === id);
      expect(runs.map((run) => run.attempt)).toEqual([1, 2, 3, 4]);
      // Lower bounds only (never an upper bound on speed): retry n waits at least half of 100 × 2^(n-1).
      const gaps = runs.slice(1).map((run, index) => run.at - runs[index]!.at);
      gaps.forEach((gap, index) => expect(gap).toBeGreaterThanOrEqual(50 * 2 ** index - 5));
      expect(journal.finalFailures).toEqual([]);
    });

    it('fails a job for good after its last attempt and calls onFinalFailure once', async () => {
      journal.behaviour.set(JobName.Deliver, (job) => Promise.reject(new Error(`always fails (${job.attempt})`)));
      const id = await queue.add(
        QueueName.Notifications,
        JobName.Deliver,
        {},
        { attempts: 3, backoff: { type: 'fixed', delay: 10 } },
      );
      const job = await finished(id);
      expect(job).toMatchObject({ state: 'failed', attempts: 3, failedReason: 'always fails (3)' });
      expect(job.result).toBeUndefined();
      expect(journal.finalFailures).toEqual([{ id, attempt: 3, message: 'always fails (3)' }]);
    });

    it('stops retrying at once on PermanentJobError', async () => {
      journal.behaviour.set(JobName.Deliver, () => Promise.reject(new PermanentJobError('410 Gone')));
      const id = await queue.add(
        QueueName.Notifications,
        JobName.Deliver,
        {},
        { attempts: 5, backoff: { type: 'fixed', delay: 10 } },
      );
      const job = await finished(id);
      expect(job).toMatchObject({ state: 'failed', attempts: 1, failedReason: '410 Gone' });
      expect(journal.runs.filter((run) => run.id === id)).toHaveLength(1);
      expect(journal.finalFailures).toEqual([{ id, attempt: 1, message: '410 Gone' }]);
    });

    it('applies the attempts and backoff a job declares, unless the add gives its own', async () => {
      journal.behaviour.set(JobName.Retried, (job) => Promise.reject(new Error(`fails (${job.attempt})`)));
      const declared = await queue.add(QueueName.Events, JobName.Retried, {});
      expect(await finished(declared)).toMatchObject({ state: 'failed', attempts: 3 });
      const overridden = await queue.add(QueueName.Events, JobName.Retried, {}, { attempts: 1 });
      expect(await finished(overridden)).toMatchObject({ state: 'failed', attempts: 1 });
      expect(journal.runs.filter((run) => run.id === declared).map((run) => run.maxAttempts)).toEqual([3, 3, 3]);
    });

    it('holds a delayed job as delayed, then runs it', async () => {
      const id = await queue.add(QueueName.Imports, JobName.Import, { late: true }, { delay: 1500 });
      expect((await queue.getJob(id))?.state).toBe('delayed');
      expect(await finished(id)).toMatchObject({ state: 'completed' });
    });

    it('runs jobs of one queue concurrently (IMPORT_CONCURRENCY) and counts them by state', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      journal.behaviour.set(JobName.Import, () => gate);
      const ids = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => queue.add(QueueName.Imports, JobName.Import, { n })));
      const counts = await eventually(async () => {
        const c = await queue.counts(QueueName.Imports);
        return c.active === 4 && c.waiting === 2 ? c : undefined;
      }, '4 active and 2 waiting');
      expect(counts).toMatchObject({ active: 4, waiting: 2 });
      release();
      for (const id of ids) await finished(id);
      expect(await queue.counts(QueueName.Imports)).toMatchObject({ active: 0, waiting: 0 });
    });

    it('answers undefined for an unknown id, and refuses jobs on the wrong queue or with ids BullMQ cannot hold', async () => {
      expect(await queue.getJob('00000000-0000-4000-8000-000000000000')).toBeUndefined();
      await expect(queue.add(QueueName.Events, JobName.Import, {})).rejects.toThrow(/runs on queue/);
      await expect(queue.add(QueueName.Imports, JobName.Import, {}, { jobId: 'a:b' })).rejects.toThrow(/job id/);
      await expect(queue.add(QueueName.Imports, JobName.Import, {}, { jobId: '42' })).rejects.toThrow(/job id/);
    });

    it('counts outcomes and durations in the metrics', async () => {
      const id = await queue.add(QueueName.Imports, JobName.Import, {});
      await finished(id);
      const text = await app.get(MetricsService).render();
      expect(text).toMatch(
        /queue_jobs_total\{queue="contract-imports",job="contract-import",outcome="completed"\} \d+/,
      );
      expect(text).toMatch(/queue_depth\{queue="contract-imports",state="waiting"\} 0/);
      expect(text).toContain(
        'queue_job_duration_seconds_bucket{le="0.001",queue="contract-imports",job="contract-import"}',
      );
    });

    it('takes no more jobs once its workers are paused', async () => {
      // A second instance on its own prefix/schema, so only its (paused) worker could take the job.
      const own = await bootQueueModule({
        ...env,
        REDIS_KEY_PREFIX: `${env.REDIS_KEY_PREFIX ?? 'x'}-paused`,
        QUEUE_PG_SCHEMA: 'bullmq_paused',
      });
      try {
        const ownQueue = own.get<QueueDriver>(QueueDriver);
        await own.get(QueueWorkersService).pause();
        const id = await ownQueue.add(QueueName.Notifications, JobName.Send, {});
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect((await ownQueue.getJob(id))?.state).toBe('waiting');
        expect(journal.runs.filter((run) => run.id === id)).toEqual([]);
      } finally {
        await own.close();
      }
    });

    it('lets an active job finish when the app closes (graceful shutdown)', async () => {
      // A second instance on its own prefix/schema, so only its worker can take the job.
      const own = await bootQueueModule({
        ...env,
        QUEUE_SHUTDOWN_GRACE_MS: '10000',
        REDIS_KEY_PREFIX: `${env.REDIS_KEY_PREFIX ?? 'x'}-own`,
        QUEUE_PG_SCHEMA: 'bullmq_own',
      });
      const ownQueue = own.get<QueueDriver>(QueueDriver);
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      let finishedAt = 0;
      journal.behaviour.set(JobName.Send, async () => {
        started();
        await new Promise((resolve) => setTimeout(resolve, 700));
        finishedAt = Date.now();
        return 'finished';
      });
      const id = await ownQueue.add(QueueName.Notifications, JobName.Send, {});
      await running;
      await own.close();
      const closedAt = Date.now();
      expect(finishedAt).toBeGreaterThan(0);
      expect(finishedAt).toBeLessThanOrEqual(closedAt);
      expect(journal.runs.filter((run) => run.id === id)).toHaveLength(1);
    });
  });
}

describeQueueDriverContract('memory', () =>
  Promise.resolve({ env: { QUEUE_DRIVER: 'memory', REDIS_URL: '' }, cleanup: () => Promise.resolve() }),
);

describeQueueDriverContract('bullmq on redis', () => {
  const prefix = `t-queue-contract-${randomBytes(4).toString('hex')}`;
  return Promise.resolve({
    env: { QUEUE_DRIVER: 'bullmq', QUEUE_BACKEND: 'redis', REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix },
    // Also removes the "-own" second instance's keys.
    cleanup: () => deleteKeys(prefix),
  });
});

describeQueueDriverContract('bullmq on postgres', async () => {
  const database = await createTestDatabase('queue_contract_pg');
  return {
    env: { QUEUE_DRIVER: 'bullmq', QUEUE_BACKEND: 'postgres', DATABASE_URL: database.url, REDIS_URL: '' },
    cleanup: () => database.drop(),
  };
});

describe('QueueModule start-up checks', () => {
  const memory = { QUEUE_DRIVER: 'memory', REDIS_URL: '' };

  it('fails when a declared job has no handler, or two', async () => {
    const [first, ...rest] = Object.values(JobName);
    await expect(bootQueueModule(memory, rest)).rejects.toThrow(`job "${first}" has no @JobHandler`);
    await expect(bootQueueModule(memory, [...Object.values(JobName), first!])).rejects.toThrow(
      `job "${first}" has 2 handlers`,
    );
  });

  it('fails when a handler handles a job no module declared', async () => {
    const undeclared = defineJob({ name: 'contract-undeclared', queue: QUEUES[QueueName.Events]! });
    await expect(bootQueueModule(memory, [...Object.values(JobName), undeclared])).rejects.toThrow(
      'job "contract-undeclared" has a @JobHandler (ContractHandler_contract-undeclared) but is not declared',
    );
  });

  it('starts with exactly the declared jobs and their handlers, and refuses to enqueue an undeclared job', async () => {
    const app = await bootQueueModule(memory);
    try {
      await expect(app.get<QueueDriver>(QueueDriver).add(QueueName.Events, 'contract-unknown', {})).rejects.toThrow(
        'job "contract-unknown" is not declared',
      );
    } finally {
      await app.close();
    }
  });

  it('fails on an unknown driver or backend instead of falling back', async () => {
    await expect(bootQueueModule({ QUEUE_DRIVER: 'kafka' })).rejects.toThrow(/QUEUE_DRIVER: expected bullmq or memory/);
    await expect(bootQueueModule({ QUEUE_DRIVER: 'bullmq', QUEUE_BACKEND: 'mongo' })).rejects.toThrow(
      /QUEUE_BACKEND: expected redis or postgres/,
    );
  });
});
