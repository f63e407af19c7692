import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { webhooksConfig } from '../../../config/index.js';
import { MetricsService } from '../../../infra/metrics/index.js';
import { type JobContext, PermanentJobError } from '../../../infra/queue/index.js';
import { DeadLettersService } from './dead-letters.service.js';
import { redactUrl } from './redact-url.js';
import { readServiceUserAgent } from './service-user-agent.js';
import { sendWebhook } from './webhook-sender.js';
import { WebhookSigner } from './webhook-signer.js';
import type { ResolvedDelivery } from './webhook-delivery.job.js';

/** Thrown on `410 Gone`: the receiver asked us to stop, so the delivery is not dead-lettered. */
export class WebhookGoneError extends PermanentJobError {
  constructor(url: string) {
    super(`${redactUrl(url)} answered 410 Gone`);
    this.name = 'WebhookGoneError';
  }
}

/**
 * A job that names no event we committed, or a receiver we are no longer configured with: it is
 * sent nowhere, signed never, not retried and not dead-lettered.
 */
export class WebhookDroppedError extends PermanentJobError {
  constructor(reason: string) {
    super(reason);
    this.name = 'WebhookDroppedError';
  }
}

/**
 * What every webhook job does with a resolved delivery: one attempt (sign with a fresh
 * timestamp, POST, classify, count) and, after the last one, the dead letter.
 */
@Injectable()
export class WebhookDeliveryService {
  private readonly logger = new Logger('WebhookDelivery');
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

  /** Resolves when the receiver answered 2xx; throws to retry, or `WebhookGoneError` to stop. */
  async attempt(delivery: ResolvedDelivery, job: JobContext): Promise<void> {
    // Config validation requires the secret with WEBHOOK_URLS; this is a job left over from a
    // deployment that had them, and nothing can sign it.
    if (this.signer === undefined) throw new PermanentJobError('WEBHOOK_SECRET is not set: cannot sign the delivery');
    const signed = this.signer.sign(delivery.eventId, delivery.body);
    const outcome = await sendWebhook(delivery.url, signed, {
      timeoutMs: this.config.timeoutMs,
      userAgent: this.userAgent,
    });
    switch (outcome.kind) {
      case 'delivered':
        this.metrics.webhookDeliveries.inc({ outcome: 'delivered' });
        return;
      case 'gone':
        this.metrics.webhookDeliveries.inc({ outcome: 'gone' });
        this.logger.warn(`${redactUrl(delivery.url)} answered 410 Gone to event ${delivery.eventId}: not retrying`);
        throw new WebhookGoneError(delivery.url);
      case 'retry':
        if (job.attempt < job.maxAttempts) this.metrics.webhookDeliveries.inc({ outcome: 'retried' });
        throw new Error(outcome.error);
    }
  }

  /** The job is sent nowhere: logged, counted (`outcome="dropped"`), and failed without retries. */
  drop(job: JobContext, reason: string): WebhookDroppedError {
    this.metrics.webhookDeliveries.inc({ outcome: 'dropped' });
    this.logger.warn(`${job.name} job ${job.id} dropped, nothing sent: ${reason}`);
    return new WebhookDroppedError(reason);
  }

  /** After the last attempt: the dead letter, with the exact bytes sent, for a replay. */
  async deadLetter(delivery: ResolvedDelivery, attempts: number, error: Error): Promise<void> {
    await this.deadLetters.record(delivery, attempts, error.message);
    this.metrics.webhookDeliveries.inc({ outcome: 'dead_lettered' });
    this.logger.warn(
      `event ${delivery.eventId} to ${redactUrl(delivery.url)} dead-lettered after ${attempts} attempts: ${error.message}`,
    );
  }
}
