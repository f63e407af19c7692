import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One delivery as the receiver saw it. */
export interface Delivery {
  webhookId: string;
  type: string;
  /** The entity id the event is about (`data.id`). */
  entityId: string | undefined;
  occurredAtMs: number;
  receivedAtMs: number;
}

/**
 * A local Standard Webhooks receiver: verifies each signature, answers 204 at once, and keeps
 * the first delivery of every `webhook-id` (retries are counted, not re-recorded).
 */
export class WebhookReceiver {
  readonly deliveries = new Map<string, Delivery>();
  duplicates = 0;
  badSignatures = 0;
  private readonly verifier: Webhook;

  private constructor(
    private readonly server: Server,
    secret: string,
  ) {
    this.verifier = new Webhook(secret);
  }

  static async start(secret: string): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server, secret);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const receivedAtMs = Date.now();
        receiver.accept(
          Buffer.concat(chunks).toString('utf8'),
          request.headers as Record<string, string>,
          receivedAtMs,
        );
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  private accept(body: string, headers: Record<string, string>, receivedAtMs: number): void {
    let event: { id?: string; type?: string; occurredAt?: string; data?: { id?: string } };
    try {
      event = this.verifier.verify(body, headers) as typeof event;
    } catch {
      this.badSignatures++;
      return;
    }
    const webhookId = headers['webhook-id'] ?? event.id ?? '';
    if (this.deliveries.has(webhookId)) {
      this.duplicates++;
      return;
    }
    this.deliveries.set(webhookId, {
      webhookId,
      type: event.type ?? '',
      entityId: event.data?.id,
      occurredAtMs: Date.parse(event.occurredAt ?? ''),
      receivedAtMs,
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
