import { Injectable } from '@nestjs/common';
import {
  type DomainEvent,
  type DomainEventSubscriber,
  EVENTS_QUEUE,
  EventSubscriber,
  type FanOutJob,
} from '../../infra/outbox/index.js';
import { defineJob, type JobContext, JobHandler, jobIdOf, type QueueJobHandler } from '../../infra/queue/index.js';
import { ProductEvent } from '../products/product.events.js';
import { PopularityService } from './popularity.service.js';

/** The data of a `forget-product-views` job. */
export interface ForgetProductViewsJob {
  productId: string;
}

/** Removes a deleted product from the view counters; a small job on the outbox's `events` queue. */
export const FORGET_PRODUCT_VIEWS = defineJob<ForgetProductViewsJob>({
  name: 'forget-product-views',
  queue: EVENTS_QUEUE,
  options: { attempts: 5, backoff: { type: 'exponential', delay: 1000, jitter: 0.5, maxDelay: 60_000 } },
});

/** `product.deleted` → one job removing the product from every view bucket (its id from the event's). */
@Injectable()
@EventSubscriber()
export class ForgetProductViewsSubscriber implements DomainEventSubscriber {
  readonly events = [ProductEvent.Deleted];

  jobsFor(event: DomainEvent): FanOutJob<ForgetProductViewsJob>[] {
    return [
      {
        job: FORGET_PRODUCT_VIEWS,
        data: { productId: event.aggregateId },
        opts: { jobId: jobIdOf('forget-views', event.id) },
      },
    ];
  }
}

/** Idempotent: removing a product that is not there removes nothing. */
@Injectable()
@JobHandler(FORGET_PRODUCT_VIEWS)
export class ForgetProductViewsHandler implements QueueJobHandler<ForgetProductViewsJob> {
  constructor(private readonly popularity: PopularityService) {}

  handle(job: JobContext<ForgetProductViewsJob>): Promise<void> {
    return this.popularity.forget(job.data.productId);
  }
}
