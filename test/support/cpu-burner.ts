import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * Saturates the machine's cores the way a busy production host is: one busy child process per
 * core, at normal priority, spinning until `stop()`. Fault scenarios run under it so a guarantee
 * that holds only on an idle machine shows up as a failure.
 */
export class CpuBurner {
  private constructor(private readonly children: ChildProcess[]) {}

  static start(processes = availableParallelism()): CpuBurner {
    const children = Array.from({ length: processes }, () =>
      spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
    );
    return new CpuBurner(children);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
  }
}
