import { Injectable } from '@nestjs/common';
import {
  type DomainEvent,
  type DomainEventSubscriber,
  EventSubscriber,
  type FanOutJob,
} from '../../infra/outbox/index.js';
import {
  type JobContext,
  JobHandler,
  JobName,
  jobIdOf,
  QueueName,
  type QueueJobHandler,
} from '../../infra/queue/index.js';
import { ProductEvent } from '../products/product.events.js';
import { PopularityService } from './popularity.service.js';

/** The data of a `forget-product-views` job. */
export interface ForgetProductViewsJob {
  productId: string;
}

/** `product.deleted` → one job removing the product from every view bucket (its id from the event's). */
@Injectable()
@EventSubscriber()
export class ForgetProductViewsSubscriber implements DomainEventSubscriber {
  readonly events = [ProductEvent.Deleted];

  jobsFor(event: DomainEvent): FanOutJob<ForgetProductViewsJob>[] {
    return [
      {
        queue: QueueName.Events,
        name: JobName.ForgetProductViews,
        data: { productId: event.aggregateId },
        opts: {
          jobId: jobIdOf('forget-views', event.id),
          attempts: 5,
          backoff: { type: 'exponential', delay: 1000, jitter: 0.5, maxDelay: 60_000 },
        },
      },
    ];
  }
}

/** Idempotent: removing a product that is not there removes nothing. */
@Injectable()
@JobHandler(JobName.ForgetProductViews)
export class ForgetProductViewsHandler implements QueueJobHandler<ForgetProductViewsJob> {
  constructor(private readonly popularity: PopularityService) {}

  handle(job: JobContext<ForgetProductViewsJob>): Promise<void> {
    return this.popularity.forget(job.data.productId);
  }
}
