import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { enqueue, type JobContext, JobHandler, QueueDriver, type QueueJobHandler } from '../queue/index.js';
import { DISPATCH_EVENT, type DispatchEventJob } from './dispatch-event.job.js';
import { type DomainEventSubscriber, EVENT_SUBSCRIBER_METADATA } from './event-subscriber.js';
import { OutboxEvents } from './outbox-events.js';

/**
 * The `dispatch-event` job: fans one committed domain event out to the jobs its subscribers want
 * (a webhook delivery per URL, a welcome email, ...). Their job ids are deterministic, so a
 * retried or redelivered dispatch adds nothing twice.
 */
@Injectable()
@JobHandler(DISPATCH_EVENT)
export class EventDispatchHandler implements QueueJobHandler<DispatchEventJob, { jobs: number }>, OnModuleInit {
  private subscribers: DomainEventSubscriber[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
    @Inject(QueueDriver) private readonly queue: QueueDriver,
    private readonly outboxEvents: OutboxEvents,
  ) {}

  onModuleInit(): void {
    this.subscribers = this.discovery
      .getProviders()
      .map((wrapper): unknown => wrapper.instance)
      .filter((instance): instance is DomainEventSubscriber => {
        if (typeof instance !== 'object' || instance === null) return false;
        return this.reflector.get<boolean | undefined>(EVENT_SUBSCRIBER_METADATA, instance.constructor) === true;
      });
  }

  async handle(job: JobContext<DispatchEventJob>): Promise<{ jobs: number }> {
    const { event } = job.data;
    const wanted = this.subscribers.filter((s) => s.events === '*' || s.events.includes(event.type));
    const jobs = (await Promise.all(wanted.map(async (s) => s.jobsFor(event)))).flat();
    // Jobs that read the event by id hold it before they exist, so the prune cannot take it from
    // under them; the dispatch's own hold goes in the same statement (a retry writes them again).
    await this.outboxEvents.handOver(
      event.id,
      job.id,
      jobs.filter((j) => j.readsEvent === true).map((j) => j.opts.jobId),
    );
    // Any failure fails the dispatch, which is retried; jobs already added are not added again.
    await Promise.all(jobs.map((j) => enqueue(this.queue, j.job, j.data, j.opts)));
    return { jobs: jobs.length };
  }

  /** A dispatch that failed for good fans out nothing more: its hold goes (a failure here is the sweeper's to clean). */
  async onFinalFailure(job: JobContext<DispatchEventJob>): Promise<void> {
    await this.outboxEvents.release(job.data.event.id, job.id);
  }
}
