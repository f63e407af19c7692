import type { WebhooksConfig } from '../../../config/index.js';
import type { JobOptions } from '../../../infra/queue/index.js';
import { webhookBody, type WebhookPayload } from './webhook-signer.js';

/** The data of a `deliver-webhook` job: one event to one receiver. */
export interface WebhookDeliveryJob {
  /** The event delivered; `event.id` is the `webhook-id` on every attempt. */
  event: WebhookPayload;
  url: string;
  /** Set on a replay: the exact bytes the dead-lettered delivery sent, sent again unchanged. */
  body?: string;
}

/**
 * The bytes a delivery sends on every attempt: a replay's stored body, or else the event
 * serialised (deterministic: job data keeps its key order through the queue).
 */
export function deliveryBody(delivery: WebhookDeliveryJob): string {
  return delivery.body ?? webhookBody(delivery.event);
}

/**
 * Attempts and backoff from config: the n-th retry waits between half and all of
 * `base × 2^(n-1)`, at most `backoffMaxMs`.
 */
export function webhookJobOptions(config: WebhooksConfig): Required<Pick<JobOptions, 'attempts' | 'backoff'>> {
  return {
    attempts: config.maxAttempts,
    backoff: { type: 'exponential', delay: config.backoffBaseMs, jitter: 0.5, maxDelay: config.backoffMaxMs },
  };
}
