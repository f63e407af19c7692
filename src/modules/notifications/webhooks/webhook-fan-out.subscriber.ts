import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { webhooksConfig } from '../../../config/index.js';
import {
  type DomainEvent,
  type DomainEventSubscriber,
  EventSubscriber,
  type FanOutJob,
} from '../../../infra/outbox/index.js';
import { jobIdOf } from '../../../infra/queue/index.js';
import { DELIVER_WEBHOOK, receiverIdOf, webhookJobOptions, type WebhookDeliveryJob } from './webhook-delivery.job.js';

/**
 * Every domain event becomes one delivery job per URL in `WEBHOOK_URLS`, carrying the event id
 * and the receiver's id only. The job id is derived from the event id and the URL, so an event
 * dispatched twice still makes one delivery per URL; the outbox keeps the event until the
 * delivery is finished (`readsEvent`).
 */
@Injectable()
@EventSubscriber()
export class WebhookFanOutSubscriber implements DomainEventSubscriber {
  readonly events = '*';

  constructor(@Inject(webhooksConfig.KEY) private readonly config: ConfigType<typeof webhooksConfig>) {}

  jobsFor(event: DomainEvent): FanOutJob<WebhookDeliveryJob>[] {
    return this.config.urls.map((url) => ({
      job: DELIVER_WEBHOOK,
      data: { eventId: event.id, receiver: receiverIdOf(url) },
      opts: { jobId: jobIdOf('webhook', event.id, url), ...webhookJobOptions(this.config) },
      readsEvent: true,
    }));
  }
}
