import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { webhooksConfig } from '../../../config/index.js';
import {
  type DomainEvent,
  type DomainEventSubscriber,
  EventSubscriber,
  type FanOutJob,
} from '../../../infra/outbox/index.js';
import { JobName, jobIdOf, QueueName } from '../../../infra/queue/index.js';
import { webhookJobOptions, type WebhookDeliveryJob } from './webhook-delivery.job.js';

/**
 * Every domain event becomes one delivery job per URL in `WEBHOOK_URLS`. The job id is derived
 * from the event id and the URL, so an event dispatched twice still makes one delivery per URL.
 */
@Injectable()
@EventSubscriber()
export class WebhookFanOutSubscriber implements DomainEventSubscriber {
  readonly events = '*';

  constructor(@Inject(webhooksConfig.KEY) private readonly config: ConfigType<typeof webhooksConfig>) {}

  jobsFor(event: DomainEvent): FanOutJob<WebhookDeliveryJob>[] {
    return this.config.urls.map((url) => ({
      queue: QueueName.Notifications,
      name: JobName.DeliverWebhook,
      data: { event: { id: event.id, type: event.type, occurredAt: event.occurredAt, data: event.payload }, url },
      opts: { jobId: jobIdOf('webhook', event.id, url), ...webhookJobOptions(this.config) },
    }));
  }
}
