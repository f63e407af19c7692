import { redactUrl } from './redact-url.js';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { webhooksConfig } from '../../../config/index.js';
import { MetricsService } from '../../../infra/metrics/index.js';
import {
  type JobContext,
  JobHandler,
  JobName,
  PermanentJobError,
  type QueueJobHandler,
} from '../../../infra/queue/index.js';
import { DeadLettersService } from './dead-letters.service.js';
import { deliveryBody, type WebhookDeliveryJob } from './webhook-delivery.job.js';
import { sendWebhook } from './webhook-sender.js';
import { readServiceUserAgent } from './service-user-agent.js';
import { WebhookSigner } from './webhook-signer.js';

/** Thrown on `410 Gone`: the receiver asked us to stop, so the delivery is not dead-lettered. */
export class WebhookGoneError extends PermanentJobError {
  constructor(url: string) {
    super(`${redactUrl(url)} answered 410 Gone`);
    this.name = 'WebhookGoneError';
  }
}

/**
 * One attempt of one delivery: sign (fresh timestamp, same `webhook-id`), POST, classify.
 * A non-2xx answer or a timeout throws, and the queue retries with the configured backoff;
 * after the last attempt `onFinalFailure` dead-letters the delivery.
 */
@Injectable()
@JobHandler(JobName.DeliverWebhook)
export class WebhookDeliveryHandler implements QueueJobHandler<WebhookDeliveryJob> {
  private readonly logger = new Logger(WebhookDeliveryHandler.name);
  private readonly signer: WebhookSigner | undefined;
  /** `name/version` from package.json, read once here rather than per delivery. */
  private readonly userAgent = readServiceUserAgent();

  constructor(
    @Inject(webhooksConfig.KEY) private readonly config: ConfigType<typeof webhooksConfig>,
    private readonly deadLetters: DeadLettersService,
    private readonly metrics: MetricsService,
  ) {
    this.signer = config.secret === undefined ? undefined : new WebhookSigner(config.secret);
  }

  async handle(job: JobContext<WebhookDeliveryJob>): Promise<void> {
    // Config validation requires the secret with WEBHOOK_URLS; this is a job left over from a
    // deployment that had them, and nothing can sign it.
    if (this.signer === undefined) throw new PermanentJobError('WEBHOOK_SECRET is not set: cannot sign the delivery');
    const { event, url } = job.data;
    const signed = this.signer.sign(event.id, deliveryBody(job.data));
    const outcome = await sendWebhook(url, signed, { timeoutMs: this.config.timeoutMs, userAgent: this.userAgent });
    switch (outcome.kind) {
      case 'delivered':
        this.metrics.webhookDeliveries.inc({ outcome: 'delivered' });
        return;
      case 'gone':
        this.metrics.webhookDeliveries.inc({ outcome: 'gone' });
        this.logger.warn(`${redactUrl(url)} answered 410 Gone to event ${event.id}: not retrying`);
        throw new WebhookGoneError(url);
      case 'retry':
        if (job.attempt < job.maxAttempts) this.metrics.webhookDeliveries.inc({ outcome: 'retried' });
        throw new Error(outcome.error);
    }
  }

  async onFinalFailure(job: JobContext<WebhookDeliveryJob>, error: Error): Promise<void> {
    if (error instanceof WebhookGoneError) return;
    await this.deadLetters.record(job.data, deliveryBody(job.data), job.attempt, error.message);
    this.metrics.webhookDeliveries.inc({ outcome: 'dead_lettered' });
    this.logger.warn(
      `event ${job.data.event.id} to ${redactUrl(job.data.url)} dead-lettered after ${job.attempt} attempts: ${error.message}`,
    );
  }
}
