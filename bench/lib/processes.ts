import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A port nobody listens on right now. */
export async function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface StartOptions {
  /** Short label, used in the log file name and in the report. */
  name: string;
  /** The script node runs (a built file). */
  entry: string;
  /** The child's whole environment besides PATH/HOME (nothing else is inherited). */
  env: Record<string, string>;
  port: number;
  /** Path polled until it answers `readyStatus` (or any status below 500 when omitted). */
  readyPath: string;
  readyStatus?: number;
  logDir: string;
  /** Exit code the child uses for "this variant cannot run here" (e.g. a platform is not installed). */
  unavailableExitCode?: number;
  nodeArgs?: string[];
  /** The node binary (default: the one running the harness), to compare Node versions in one run. */
  node?: string;
}

/** Every child still running, so an aborted run can stop them all. */
const live = new Set<RunningProcess>();

/** Stops every child this run started and has not stopped yet. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

/** Thrown when a child exits with `unavailableExitCode`: the scenario is reported as n/a, not as a failure. */
export class UnavailableError extends Error {}

/**
 * A child node process under load: its URL, peak RSS (sampled from /proc every 200 ms) and a
 * clean stop (SIGTERM, then SIGKILL after 15 s).
 */
export class RunningProcess {
  private peakRssBytes = 0;
  private readonly sampler: NodeJS.Timeout;
  private exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly logFile: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.once('exit', (code) => resolve(code));
    });
    this.sampler = setInterval(() => void this.sampleRss(), 200);
    this.sampler.unref();
    live.add(this);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Highest RSS seen so far, in MiB. */
  get peakRssMb(): number {
    return Math.round((this.peakRssBytes / 1024 / 1024) * 10) / 10;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async sampleRss(): Promise<void> {
    if (!this.running) return;
    try {
      const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      this.peakRssBytes = Math.max(this.peakRssBytes, kb * 1024);
    } catch {
      // The process has just exited: keep the last peak.
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    live.delete(this);
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const code = await Promise.race([this.exited, sleep(15_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /** Resolves when the process exits by itself (used to notice a crash during a run). */
  get exit(): Promise<number | null> {
    return this.exited;
  }
}

/**
 * Starts `node <entry>` with `env`, its stdout/stderr going to `<logDir>/<name>.log`, and waits
 * until it answers on `readyPath`.
 * @example const api = await startProcess({ name: 'api', entry: 'dist/main.js', env, port, readyPath: '/health/ready', readyStatus: 200, logDir });
 */
export async function startProcess(options: StartOptions): Promise<RunningProcess> {
  const logFile = join(options.logDir, `${options.name}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(options.node ?? process.execPath, [...(options.nodeArgs ?? []), options.entry], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const url = `http://127.0.0.1:${options.port}`;
  const running = new RunningProcess(options.name, url, logFile, child);
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (!running.running) {
      const code = child.exitCode;
      if (options.unavailableExitCode !== undefined && code === options.unavailableExitCode) {
        throw new UnavailableError(lastLines(logFile, 3));
      }
      throw new Error(
        `${options.name} exited with ${code ?? child.signalCode} before it was ready:\n${lastLines(logFile, 30)}`,
      );
    }
    try {
      const response = await fetch(`${url}${options.readyPath}`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (options.readyStatus === undefined ? response.status < 500 : response.status === options.readyStatus) {
        return running;
      }
    } catch {
      // Not listening yet.
    }
    await sleep(150);
  }
  await running.stop();
  throw new Error(`${options.name} was not ready within 90 s:\n${lastLines(logFile, 30)}`);
}

export function lastLines(file: string, count: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-count).join('\n');
  } catch {
    return '(no log)';
  }
}
