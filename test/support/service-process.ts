import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sparePort } from './redis-server.js';
import { UNTHROTTLED } from './unthrottled.js';

const MAIN = new URL('../../dist/main.js', import.meta.url).pathname;
/** The built service (`dist/main.js`, from `npm run build`) running as a child process. */
export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  /** Another build's entry (a generated copy's `dist/main.js`); its own `telemetry.js` is preloaded. */
  main?: string;
  /** Imported before the telemetry preload. */
  preloads?: string[];
}

/**
 * Runs `dist/main.js` (or `options.main`) as the start scripts do (`--import <its dist>/telemetry.js`),
 * with exactly `env` (plus PATH); does not wait for readiness.
 */
export async function spawnService(env: Record<string, string>, options: SpawnOptions = {}): Promise<ServiceProcess> {
  const port = env.PORT ?? String(await sparePort());
  const main = options.main ?? MAIN;
  const telemetry = join(dirname(main), 'telemetry.js');
  const imports = [...(options.preloads ?? []), telemetry].flatMap((file) => ['--import', file]);
  const child = spawn(process.execPath, [...imports, main], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: port, ...UNTHROTTLED, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Spawns the service and waits until `/health/ready` answers 200 (or fails with its output). */
export async function startService(
  env: Record<string, string>,
  timeoutMs = 30_000,
  options: SpawnOptions = {},
): Promise<ServiceProcess> {
  const service = await spawnService(env, options);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null) throw new Error(`service exited early:\n${service.output()}`);
    try {
      if ((await fetch(`${service.url}/health/ready`, { signal: AbortSignal.timeout(2000) })).status === 200)
        return service;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await service.stop('SIGKILL');
  throw new Error(`service not ready within ${timeoutMs} ms:\n${service.output()}`);
}
