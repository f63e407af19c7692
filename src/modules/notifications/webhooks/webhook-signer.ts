import { Webhook } from 'standardwebhooks';

/** The body every receiver gets (API.md): the event, with its entity as the API returns it. */
export interface WebhookPayload {
  id: string;
  type: string;
  occurredAt: string;
  data: unknown;
}

/** The body of a first delivery: the payload's fields in the documented order. */
export function webhookBody(payload: WebhookPayload): string {
  return JSON.stringify({ id: payload.id, type: payload.type, occurredAt: payload.occurredAt, data: payload.data });
}

/** The three Standard Webhooks headers, plus the content type. */
export interface SignedWebhook {
  body: string;
  headers: {
    'content-type': 'application/json';
    'webhook-id': string;
    'webhook-timestamp': string;
    'webhook-signature': string;
  };
}

/**
 * Signs deliveries per the Standard Webhooks specification with the `standardwebhooks` package:
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the
 * `whsec_<base64>` secret. The id is the event id, so it stays the same across retries; the
 * timestamp is taken at each attempt, so a late retry still passes a receiver's freshness check.
 *
 * The body is signed as given: a replay signs the exact bytes of the original delivery again.
 *
 * ```ts
 * const signed = new WebhookSigner('whsec_…').sign(event.id, webhookBody(event));
 * await fetch(url, { method: 'POST', headers: signed.headers, body: signed.body });
 * ```
 */
export class WebhookSigner {
  private readonly webhook: Webhook;

  constructor(secret: string) {
    this.webhook = new Webhook(secret);
  }

  sign(webhookId: string, body: string, now: Date = new Date()): SignedWebhook {
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': this.webhook.sign(webhookId, now, body),
      },
    };
  }
}
