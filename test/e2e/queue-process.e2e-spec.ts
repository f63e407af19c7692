import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bootTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { sparePort } from '../support/redis-server.js';
import { deleteKeys } from '../support/redis-keys.js';
import { TEST_REDIS_URL } from '../support/services.js';
import { UNTHROTTLED } from '../support/unthrottled.js';

// These run the built service (dist/, built by `npm test`'s pretest step) as real processes:
// workers are killed and signalled, which a test cannot do to itself.
const DIST = new URL(`../../${process.env.TEST_DIST_DIR ?? 'dist'}/`, import.meta.url).pathname;

interface Child {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<Child>();

function start(entry: 'main.js' | 'worker.js', env: Record<string, string>): Child {
  const child = spawn(process.execPath, [`${DIST}${entry}`], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', ...UNTHROTTLED, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const handle = { child, output: () => output, exited };
  children.add(handle);
  void exited.then(() => children.delete(handle));
  return handle;
}

interface ImportJob {
  state: string;
  progress: number;
  attempts: number;
  result: {
    created: number;
    failed: Array<{ index: number; errors: Array<{ field: string; message: string }> }>;
  } | null;
}

const run = randomUUID().slice(0, 8);

describe('workers as processes: WORKERS=false, start:worker, crash, SIGTERM', () => {
  let db: TestDatabase;
  let api: TestApp;
  const prefix = `t-queue-process-${run}`;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase('queue_process');
    env = {
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      QUEUE_DRIVER: 'bullmq',
      // Short import locks (shortened variant), so a killed worker's import is recovered within seconds.
      IMPORT_LOCK_DURATION_MS: '4000',
      IMPORT_STALLED_INTERVAL_MS: '1000',
      IMPORT_BATCH_SIZE: '20',
    };
    // The API only: it enqueues, and never runs a job.
    api = await bootTestApp({ ...env, WORKERS: 'false', API_KEYS: undefined, WEBHOOK_URLS: undefined });
  });

  afterEach(async () => {
    for (const { child, exited } of [...children]) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  afterAll(async () => {
    await api?.close();
    await db?.drop();
    await deleteKeys(prefix);
  });

  async function startImport(size: number, label: string): Promise<string> {
    const items = Array.from({ length: size }, (_, n) => ({
      sku: `${label}-${run}-${n}`,
      name: `P ${n}`,
      priceCents: n,
      currency: 'EUR',
    }));
    const response = await api.request('/v1/products/import', { method: 'POST', json: { items } });
    expect(response.status).toBe(202);
    return ((await response.json()) as { jobId: string }).jobId;
  }

  const status = async (jobId: string): Promise<ImportJob> =>
    (await (await api.request(`/v1/jobs/${jobId}`)).json()) as ImportJob;
  const until = (jobId: string, check: (job: ImportJob) => boolean, what: string, timeoutMs = 45_000) =>
    eventually(async () => {
      const job = await status(jobId);
      if (!check(job)) throw new Error(`job ${jobId} not ${what}: ${JSON.stringify({ ...job, result: undefined })}`);
      return job;
    }, timeoutMs);
  const productCount = async (label: string) =>
    Number(
      (await db.query<{ n: string }>(`SELECT count(*) AS n FROM products WHERE sku LIKE $1`, [`${label}-${run}-%`]))[0]!
        .n,
    );

  it(
    'an API with WORKERS=false leaves jobs waiting; `npm run start:worker` runs them and exits 0 on SIGTERM',
    { timeout: 120_000 },
    async () => {
      const jobId = await startImport(50, 'SPLIT');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await status(jobId)).state).toBe('waiting');

      const worker = start('worker.js', env);
      const done = await until(jobId, (job) => job.state === 'completed', 'completed');
      expect(done.result?.created).toBe(50);
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(worker.output()).toContain('Worker running');
    },
  );

  it(
    'a worker killed mid-job (SIGKILL): the job is picked up again, and every item ends up stored exactly once',
    { timeout: 180_000 },
    async () => {
      const jobId = await startImport(1000, 'CRASH');
      const doomed = start('worker.js', env);
      await until(jobId, (job) => job.state === 'active' && job.progress > 5, 'under way');
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      const partial = await productCount('CRASH');
      expect(partial).toBeLessThan(1000);

      const rescuer = start('worker.js', env);
      const done = await until(jobId, (job) => job.state === 'completed', 'completed', 90_000).catch(
        (error: unknown) => {
          throw new Error(`${String(error)}\n--- second worker:\n${rescuer.output().slice(-3000)}`);
        },
      );
      expect(await productCount('CRASH')).toBe(1000);
      // The second run creates what the first did not; the first run's items show up as taken skus.
      expect(done.result!.created + done.result!.failed.length).toBe(1000);
      expect(done.result!.created).toBeGreaterThan(0);
      for (const failure of done.result!.failed)
        expect(failure.errors).toEqual([{ field: 'sku', message: 'is already taken' }]);
    },
  );

  it(
    'SIGTERM with a job active and a long grace period: the job finishes, then the process exits 0',
    { timeout: 120_000 },
    async () => {
      const jobId = await startImport(400, 'GRACE');
      const service = start('main.js', {
        ...env,
        PORT: String(await sparePort()),
        HOST: '127.0.0.1',
        SHUTDOWN_DRAIN_MS: '50',
        QUEUE_SHUTDOWN_GRACE_MS: '60000',
      });
      await until(jobId, (job) => job.state === 'active' && job.progress > 0 && job.progress < 100, 'under way');
      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
      const job = await status(jobId);
      expect(job.state).toBe('completed');
      expect(job.result?.created).toBe(400);
    },
  );

  it(
    'SIGTERM with a job active past the grace period: the process exits 0 and the job is retried elsewhere, not lost',
    { timeout: 180_000 },
    async () => {
      const jobId = await startImport(1000, 'TERM');
      const service = start('main.js', {
        ...env,
        PORT: String(await sparePort()),
        HOST: '127.0.0.1',
        SHUTDOWN_DRAIN_MS: '50',
        QUEUE_SHUTDOWN_GRACE_MS: '100',
      });
      await until(jobId, (job) => job.state === 'active' && job.progress > 0 && job.progress < 90, 'under way');
      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
      expect(service.output()).toContain('stalled-job recovery');

      const rescuer = start('worker.js', env);
      const done = await until(jobId, (job) => job.state === 'completed', 'completed', 90_000).catch(
        (error: unknown) => {
          throw new Error(
            `${String(error)}\n--- stopped service:\n${service.output().slice(-3000)}\n--- second worker:\n${rescuer.output().slice(-3000)}`,
          );
        },
      );
      expect(await productCount('TERM')).toBe(1000);
      expect(done.result!.created + done.result!.failed.length).toBe(1000);
    },
  );
});
