import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { webhooksConfig } from '../../../config/index.js';
import { OutboxEvents } from '../../../infra/outbox/index.js';
import { type JobContext, JobHandler, type QueueJobHandler } from '../../../infra/queue/index.js';
import { DeadLettersService } from './dead-letters.service.js';
import {
  configuredReceiver,
  DELIVER_WEBHOOK,
  isLegacyDeliveryJob,
  isUuid,
  type LegacyWebhookDeliveryJob,
  receiverIdOf,
  type WebhookDeliveryJob,
} from './webhook-delivery.job.js';
import type { ResolvedDelivery } from './webhook-delivery.job.js';
import { WebhookDeliveryService, WebhookDroppedError, WebhookGoneError } from './webhook-delivery.service.js';
import { webhookBody } from './webhook-signer.js';

/**
 * One attempt of one delivery. The job names an event and a receiver; the event is read from the
 * outbox (what is signed is what was committed) and the URL is the configured entry the receiver
 * id names. A job naming anything else is dropped unsent. A non-2xx answer or a timeout throws,
 * and the queue retries with the configured backoff; after the last attempt `onFinalFailure`
 * dead-letters the delivery. When the job is finished it releases its hold on the event.
 */
@Injectable()
@JobHandler(DELIVER_WEBHOOK)
export class WebhookDeliveryHandler implements QueueJobHandler<WebhookDeliveryJob | LegacyWebhookDeliveryJob> {
  private readonly logger = new Logger(WebhookDeliveryHandler.name);

  constructor(
    @Inject(webhooksConfig.KEY) private readonly config: ConfigType<typeof webhooksConfig>,
    private readonly delivery: WebhookDeliveryService,
    private readonly outboxEvents: OutboxEvents,
    private readonly deadLetters: DeadLettersService,
  ) {}

  async handle(job: JobContext<WebhookDeliveryJob | LegacyWebhookDeliveryJob>): Promise<void> {
    const resolved = await this.resolve(job.data);
    if (typeof resolved === 'string') throw this.delivery.drop(job, resolved);
    await this.delivery.attempt(resolved, job);
    await this.release(job);
  }

  async onFinalFailure(job: JobContext<WebhookDeliveryJob | LegacyWebhookDeliveryJob>, error: Error): Promise<void> {
    try {
      if (error instanceof WebhookGoneError || error instanceof WebhookDroppedError) return;
      const resolved = await this.resolve(job.data);
      if (typeof resolved === 'string') {
        this.logger.warn(`${job.id}: not dead-lettered, ${resolved}`);
        return;
      }
      await this.delivery.deadLetter(resolved, job.attempt, error);
    } finally {
      await this.release(job);
    }
  }

  /** The delivery the job names, or why there is none. */
  private async resolve(data: WebhookDeliveryJob | LegacyWebhookDeliveryJob): Promise<ResolvedDelivery | string> {
    if (isLegacyDeliveryJob(data)) {
      // A replay enqueued before the upgrade: the body is the dead letter's, not the job's.
      if (data.body !== undefined) {
        if (!this.config.urls.includes(data.url)) return 'the receiver is not in WEBHOOK_URLS';
        const letter = await this.deadLetters.findReplaying({ eventId: data.event.id, url: data.url });
        return letter ?? 'no dead letter of this event and receiver is being replayed';
      }
      return this.resolve({ eventId: data.event.id, receiver: receiverIdOf(data.url) });
    }
    const { eventId, receiver } = data as Partial<WebhookDeliveryJob>;
    if (!isUuid(eventId) || typeof receiver !== 'string') {
      return 'the job data is not { eventId, receiver }';
    }
    const url = configuredReceiver(this.config.urls, receiver);
    if (url === undefined) return `receiver ${receiver.slice(0, 64)} is not in WEBHOOK_URLS`;
    const event = await this.outboxEvents.find(eventId);
    if (event === undefined) return `event ${eventId} is not in the outbox`;
    const payload = { id: event.id, type: event.type, occurredAt: event.occurredAt, data: event.payload };
    return { eventId: event.id, type: event.type, url, payload, body: webhookBody(payload) };
  }

  /** Lets the outbox prune the event; a failure only delays that (the sweeper releases lost holds). */
  private async release(job: JobContext<WebhookDeliveryJob | LegacyWebhookDeliveryJob>): Promise<void> {
    const eventId = isLegacyDeliveryJob(job.data) ? job.data.event.id : job.data.eventId;
    if (!isUuid(eventId)) return;
    await this.outboxEvents
      .release(eventId, job.id)
      .catch((error: unknown) =>
        this.logger.warn(
          `hold of job ${job.id} not released: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
  }
}
