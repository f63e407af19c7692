export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * Rejects when `promise` has not settled within `ms`. The deadline is checked one event-loop turn
 * after the timer fires, so a reply that arrived while the loop was busy is still taken instead of
 * being mistaken for a timeout.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'the operation'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(new TimeoutError(`${what} did not finish within ${ms} ms`));
      });
    }, ms);
    promise.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Waits at most `ms` for `promise`; true when it settled in time (its outcome is ignored). */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  try {
    await withTimeout(promise, ms);
    return true;
  } catch (error) {
    return !(error instanceof TimeoutError);
  }
}
