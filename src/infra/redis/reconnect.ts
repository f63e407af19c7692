/** First reconnect delay; it doubles on each failed attempt. */
const FIRST_DELAY_MS = 50;
/** Longest wait between attempts, so a Redis that is back is found within about a second. */
const MAX_DELAY_MS = 1000;
/** Random spread, so the clients of many instances do not reconnect in lockstep. */
const JITTER_MS = 50;

/**
 * The one reconnect policy of every Redis client (node-redis and ioredis): 50 ms doubling, capped
 * at 1 s, plus up to 50 ms of jitter. `attempt` counts from 0 (node-redis's `retries`).
 */
export function reconnectDelay(attempt: number): number {
  return Math.min(FIRST_DELAY_MS * 2 ** attempt, MAX_DELAY_MS) + Math.floor(Math.random() * JITTER_MS);
}
