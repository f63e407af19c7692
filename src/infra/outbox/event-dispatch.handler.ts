import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { type JobContext, JobHandler, JobName, QueueDriver, type QueueJobHandler } from '../queue/index.js';
import { type DispatchEventJob, type DomainEventSubscriber, EVENT_SUBSCRIBER_METADATA } from './event-subscriber.js';

/**
 * The `dispatch-event` job: fans one committed domain event out to the jobs its subscribers want
 * (a webhook delivery per URL, a welcome email, ...). Their job ids are deterministic, so a
 * retried or redelivered dispatch adds nothing twice.
 */
@Injectable()
@JobHandler(JobName.DispatchEvent)
export class EventDispatchHandler implements QueueJobHandler<DispatchEventJob, { jobs: number }>, OnModuleInit {
  private subscribers: DomainEventSubscriber[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
    @Inject(QueueDriver) private readonly queue: QueueDriver,
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
    // Any failure fails the dispatch, which is retried; jobs already added are not added again.
    await Promise.all(jobs.map((j) => this.queue.add(j.queue, j.name, j.data, j.opts)));
    return { jobs: jobs.length };
  }
}
