import type { WebhooksConfig } from '../../../config/index.js';
import type { JobOptions } from '../../../infra/queue/queue.types.js';
import type { WebhookPayload } from './webhook-signer.js';

/** The data of a `deliver-webhook` job: one event to one receiver. */
export interface WebhookDeliveryJob {
  /** The body exactly as it will be signed; `event.id` is the `webhook-id` on every attempt. */
  event: WebhookPayload;
  url: string;
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
