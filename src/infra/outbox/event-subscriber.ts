import { SetMetadata } from '@nestjs/common';
import type { JobId, JobName, JobOptions, QueueName } from '../queue/index.js';
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
 *       queue: QueueName.Notifications,
 *       name: JobName.DeliverWebhook,
 *       data: { event, url },
 *       opts: { jobId: jobIdOf(event.id, url), attempts: 8, backoff: { type: 'exponential', delay: 1000, jitter: 0.5, maxDelay: 3_600_000 } },
 *     }));
 *   }
 * }
 * ```
 */

export const EVENT_SUBSCRIBER_METADATA = 'app:queue:event-subscriber';

/** A job a subscriber wants for one domain event. Give it a deterministic `opts.jobId`. */
export interface FanOutJob<T = unknown> {
  queue: QueueName;
  name: JobName;
  data: T;
  opts: JobOptions & { jobId: JobId };
}

/** Turns committed domain events into jobs. Runs in the `dispatch-event` job (a worker). */
export interface DomainEventSubscriber {
  /** The event types it wants (`'user.created'`, ...), or `'*'` for all. */
  readonly events: readonly string[] | '*';
  jobsFor(event: DomainEvent): FanOutJob[] | Promise<FanOutJob[]>;
}

/** Marks a provider as a `DomainEventSubscriber`; the dispatcher finds all of them at start-up. */
export const EventSubscriber = (): ClassDecorator => SetMetadata(EVENT_SUBSCRIBER_METADATA, true);

/** The data of a `dispatch-event` job. */
export interface DispatchEventJob {
  event: DomainEvent;
}
