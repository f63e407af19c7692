import type { WriteMode } from './cache.store.js';

/** What a subscriber is told: each message another instance published, and each (re)start of delivery. */
export interface InvalidationListener {
  message(message: string): void;
  /** Delivery (re)started: any message sent while it was down is lost, so what was kept must go. */
  resync(): void;
}

/**
 * The broadcast the tiered store needs between instances: every instance publishes its changes
 * and hears everyone's (its own included). `live` is false while delivery is down, when nothing
 * heard can be trusted to be complete.
 */
export interface InvalidationChannel {
  readonly live: boolean;
  /** Starts listening, waiting at most `waitMs` for the subscription (`live` stays false until then). */
  subscribe(listener: InvalidationListener, waitMs: number): Promise<void>;
  /** Sends one message; a `commit` change's message goes out as its write did (see `WriteMode`). */
  publish(message: string, mode?: WriteMode): Promise<void>;
  close(): Promise<void>;
}
