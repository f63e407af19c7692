import { createHash } from 'node:crypto';
import type { WebhooksConfig } from '../../../config/index.js';
import { defineJob, type JobOptions } from '../../../infra/queue/index.js';
import { NOTIFICATIONS_QUEUE } from '../notifications.queue.js';
import type { WebhookPayload } from './webhook-signer.js';

/**
 * One delivery as a job resolves it from our own tables (the outbox, a dead letter) and our own
 * configuration: what is signed and where it goes. Never taken from the job's data.
 */
export interface ResolvedDelivery {
  /** The `webhook-id`. */
  eventId: string;
  type: string;
  /** A `WEBHOOK_URLS` entry. */
  url: string;
  /** The event, for the dead letter's `payload` column. */
  payload: WebhookPayload;
  /** The exact bytes sent on every attempt. */
  body: string;
}

/**
 * The data of a `deliver-webhook` job: which event, to which receiver. Nothing the job carries
 * is signed or used as an address: the event is read from `outbox_events` by id, and the URL is
 * the `WEBHOOK_URLS` entry whose SHA-256 is `receiver` (so a job written straight into Redis
 * can make us sign only events we committed, for receivers we are configured with).
 */
export interface WebhookDeliveryJob {
  /** The outbox event id; also the `webhook-id` on every attempt. */
  eventId: string;
  /** `receiverIdOf(url)`: survives a reordered `WEBHOOK_URLS`; an edited or removed URL no longer matches. */
  receiver: string;
}

/** The data of a `replay-webhook` job: the dead letter whose stored body is sent again to its receiver. */
export interface WebhookReplayJob {
  deadLetterId: string;
}

/**
 * The `deliver-webhook` data of releases before this one (`event` and `url` in the job, `body`
 * on a replay). Still accepted for one release so jobs in Redis at the upgrade are not lost, but
 * only as ids: `event.id` is looked up in the outbox, `url` must be configured, and a `body` is
 * looked up as the dead letter of (`event.id`, `url`). Nothing else in it is used.
 */
export interface LegacyWebhookDeliveryJob {
  event: Pick<WebhookPayload, 'id'>;
  url: string;
  body?: string;
}

/** One signed delivery of an event to one receiver; attempts and backoff from config (`webhookJobOptions`). */
export const DELIVER_WEBHOOK = defineJob<WebhookDeliveryJob>({ name: 'deliver-webhook', queue: NOTIFICATIONS_QUEUE });

/** A dead letter sent again: the job carries the dead letter's id, the body is read from it. */
export const REPLAY_WEBHOOK = defineJob<WebhookReplayJob>({ name: 'replay-webhook', queue: NOTIFICATIONS_QUEUE });

export function isLegacyDeliveryJob(data: unknown): data is LegacyWebhookDeliveryJob {
  const job = data as Partial<LegacyWebhookDeliveryJob> | null;
  return typeof job?.url === 'string' && typeof job.event?.id === 'string';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids in job data are checked before they reach a query: a forged job can hold anything. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** The receiver id of a `WEBHOOK_URLS` entry: hex SHA-256 of the URL as configured. */
export function receiverIdOf(url: string): string {
  return createHash('sha256').update(url).digest('hex');
}

/** The configured URL a receiver id names, or `undefined` when no entry of `WEBHOOK_URLS` has it any more. */
export function configuredReceiver(urls: readonly string[], receiver: string): string | undefined {
  return urls.find((url) => receiverIdOf(url) === receiver);
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
