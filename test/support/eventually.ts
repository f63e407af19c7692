import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Retries `check` until it stops throwing, or rethrows its last error after `timeoutMs`.
 * For waiting on background work (a job, a delivery), never for asserting how fast it was.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 20_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(intervalMs);
    }
  }
}
