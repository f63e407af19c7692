import { defineJob, defineQueue } from '../queue/index.js';
import type { DomainEvent } from './domain-event.js';

/**
 * The outbox's queue: one `dispatch-event` job per committed domain event (fan-out to
 * subscribers). Features may put small, quick jobs that follow an event here too.
 */
export const EVENTS_QUEUE = defineQueue({ name: 'events', workers: 'short' });

/** The data of a `dispatch-event` job. */
export interface DispatchEventJob {
  event: DomainEvent;
}

/**
 * Fans one domain event out to its subscribers' jobs (`EventDispatchHandler`). It retries for
 * about ten minutes; after that the event's subscribers simply never ran, which the logs say.
 */
export const DISPATCH_EVENT = defineJob<DispatchEventJob>({
  name: 'dispatch-event',
  queue: EVENTS_QUEUE,
  options: { attempts: 12, backoff: { type: 'exponential', delay: 500, jitter: 0.5, maxDelay: 120_000 } },
});
