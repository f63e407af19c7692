import type { BackoffOptions } from './queue.types.js';

/** The BullMQ backoff type under which our own strategy (below) runs, so both drivers agree to the millisecond. */
export const APP_BACKOFF_TYPE = 'app-backoff';

/**
 * How long to wait before retry number `retry` (1 = the first retry). Exponential steps are
 * `delay × 2^(retry-1)`; jitter makes a wait a random point in the top `jitter` share of the step
 * (0.5: between half and all of it), and `maxDelay` caps it. Because each step's lower bound is the
 * previous step's upper bound, and capping keeps that order, waits never shrink.
 *
 * ```ts
 * backoffDelay({ type: 'exponential', delay: 1000, jitter: 0.5, maxDelay: 60_000 }, 3); // 2000..4000
 * ```
 */
export function backoffDelay(backoff: BackoffOptions, retry: number, random: () => number = Math.random): number {
  const step = backoff.type === 'exponential' ? backoff.delay * 2 ** Math.max(0, retry - 1) : backoff.delay;
  const jitter = Math.min(1, Math.max(0, backoff.jitter ?? 0));
  const wait = jitter > 0 ? step * (1 - jitter) + random() * step * jitter : step;
  return Math.floor(Math.min(wait, backoff.maxDelay ?? Number.POSITIVE_INFINITY));
}

/** Reads our `BackoffOptions` back from what BullMQ stored in `job.opts.backoff`. */
export function isAppBackoff(value: unknown): value is {
  type: typeof APP_BACKOFF_TYPE;
  strategy: BackoffOptions['type'];
  delay: number;
  jitter?: number;
  maxDelay?: number;
} {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === APP_BACKOFF_TYPE;
}
