import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

export type DataDirOrigin = 'created' | 'existing';

/** PGlite (like PostgreSQL) takes a directory holding this file for an initialised database. */
const MARKER = 'PG_VERSION';

// initdb is seconds of synchronous WASM: in a worker thread it runs beside the app's module
// loading instead of after it. The worker loads PGlite's CommonJS build by path, so the same code
// works from dist/ and from the TypeScript sources under vitest.
const INITDB_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglite);
PGlite.create({ dataDir: workerData.dataDir })
  .then((pglite) => pglite.close())
  .then(() => parentPort.postMessage('created'));
`;

const pending = new Map<string, Promise<DataDirOrigin>>();

/**
 * Makes sure `dataDir` holds a PGlite database, creating one if it holds none. A new database is
 * made in a sibling directory and renamed into place once complete, so a crash during initdb
 * never leaves a `dataDir` that the next start would take for a database. Calls for the same
 * directory while one is running share it (main.ts starts it early, the database module awaits it).
 */
export function preparePgliteDataDir(dataDir: string): Promise<DataDirOrigin> {
  const path = resolve(dataDir);
  let preparing = pending.get(path);
  if (preparing === undefined) {
    preparing = prepare(path).finally(() => pending.delete(path));
    // Whoever awaits it sees a failure; starting it early must not make it an unhandled rejection.
    preparing.catch(() => undefined);
    pending.set(path, preparing);
  }
  return preparing;
}

async function prepare(dataDir: string): Promise<DataDirOrigin> {
  if (existsSync(join(dataDir, MARKER))) return 'existing';
  await assertEmptyOrMissing(dataDir);
  await mkdir(dirname(dataDir), { recursive: true });
  await removeAbandonedAttempts(dataDir);
  const attempt = `${dataDir}${attemptSuffix}${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await initdbInWorker(attempt);
    return await publish(attempt, dataDir);
  } finally {
    await rm(attempt, { recursive: true, force: true });
  }
}

const attemptSuffix = '.initdb-';

async function assertEmptyOrMissing(dataDir: string): Promise<void> {
  const entries = await readdir(dataDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (entries.length > 0) {
    throw new Error(
      `${dataDir} holds files but no database (${MARKER} is missing): not a PGlite data directory, or one whose creation was cut short. Move it away or delete it.`,
    );
  }
}

/**
 * Attempts left by a process that died during initdb: the pid in their name no longer runs, or is
 * this process's own (a container's service is pid 1 on every start; this process's one running
 * attempt for `dataDir` is made after this, and only one runs at a time).
 */
async function removeAbandonedAttempts(dataDir: string): Promise<void> {
  const prefix = `${basename(dataDir)}${attemptSuffix}`;
  const siblings = await readdir(dirname(dataDir)).catch(() => []);
  for (const name of siblings) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && (pid === process.pid || !isRunning(pid))) {
      await rm(join(dirname(dataDir), name), { recursive: true, force: true });
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function initdbInWorker(dataDir: string): Promise<void> {
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  return new Promise((done, fail) => {
    const worker = new Worker(INITDB_WORKER, {
      eval: true,
      workerData: { pglite, dataDir },
      // A CommonJS script whatever flags this process got (--input-type=module would make it ESM).
      execArgv: [],
    });
    let created = false;
    worker.once('message', () => (created = true));
    worker.once('error', fail);
    worker.once('exit', (code) =>
      created ? done() : fail(new Error(`initdb for ${dataDir} stopped (worker exit code ${code})`)),
    );
  });
}

async function publish(attempt: string, dataDir: string): Promise<DataDirOrigin> {
  try {
    // Replaces dataDir if it is an empty directory.
    await rename(attempt, dataDir);
    return 'created';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Another process published its database first.
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && existsSync(join(dataDir, MARKER))) return 'existing';
    if (code !== 'EBUSY' && code !== 'EXDEV') throw error;
  }
  // dataDir is a mount point (a volume): copy into it, the marker last, so that a copy cut short
  // is refused by the next start (assertEmptyOrMissing) instead of being opened.
  await cp(attempt, dataDir, { recursive: true, filter: (source) => source !== join(attempt, MARKER) });
  await cp(join(attempt, MARKER), join(dataDir, MARKER));
  return 'created';
}
