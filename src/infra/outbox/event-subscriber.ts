import { SetMetadata } from '@nestjs/common';
import type { JobDefinition, JobId, JobOptions } from '../queue/index.js';
import type { DomainEvent } from './domain-event.js';

/*
 * Reacting to domain events (the usual way to add a side effect): after commit the outbox relay
 * enqueues ONE `dispatch-event` job per event (job id = event id) on the `events` queue; its
 * handler asks every `@EventSubscriber()` for the jobs that event needs and enqueues them with
 * the deterministic ids they return, so a redelivered event never duplicates a job.
 *
 * ```ts
 * @EventSubscriber()
 * export class WebhookFanOut implements DomainEventSubscriber {
 *   readonly events = '*';                       // or ['user.created']
 *   jobsFor(event: DomainEvent): FanOutJob[] {
 *     return this.urls.map((url) => ({
 *       job: DELIVER_WEBHOOK,                     // a defineJob(...) of the subscriber's feature
 *       data: { eventId: event.id, receiver: receiverIdOf(url) }, // ids, never what is signed
 *       opts: { jobId: jobIdOf('webhook', event.id, url) }, // attempts, backoff: declared defaults unless given
 *       readsEvent: true,                      // the outbox keeps the event until the job releases it
 *     }));
 *   }
 * }
 * ```
 */

export const EVENT_SUBSCRIBER_METADATA = 'app:queue:event-subscriber';

/** A job a subscriber wants for one domain event. Give it a deterministic `opts.jobId`. */
export interface FanOutJob<T = unknown> {
  /** The declared job (its queue and default options come with it). */
  job: JobDefinition<T>;
  data: T;
  opts: JobOptions & { jobId: JobId };
  /**
   * The job reads its event from the outbox by id (`OutboxEvents.find`) rather than carrying it:
   * the outbox then keeps the event, whatever its retention, until the job's handler calls
   * `OutboxEvents.release(eventId, job.id)` (or the sweeper finds the job gone or finished).
   */
  readsEvent?: boolean;
}

/** Turns committed domain events into jobs. Runs in the `dispatch-event` job (a worker). */
export interface DomainEventSubscriber {
  /** The event types it wants (`'user.created'`, ...), or `'*'` for all. */
  readonly events: readonly string[] | '*';
  jobsFor(event: DomainEvent): FanOutJob[] | Promise<FanOutJob[]>;
}

/** Marks a provider as a `DomainEventSubscriber`; the dispatcher finds all of them at start-up. */
export const EventSubscriber = (): ClassDecorator => SetMetadata(EVENT_SUBSCRIBER_METADATA, true);
