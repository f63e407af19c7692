import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Webhook } from 'standardwebhooks';

/** One delivery as the receiver saw it, after its signature was checked. */
export interface ReceivedWebhook {
  path: string;
  webhookId: string;
  timestamp: string;
  /** The verified, parsed body: `{ id, type, occurredAt, data }`. */
  body: { id: string; type: string; occurredAt: string; data: Record<string, unknown> };
  /** The body's bytes as they arrived, before any parsing. */
  raw: Buffer;
  /** The request headers as they arrived (lower-case names). */
  headers: Record<string, string>;
  /** Monotonic arrival time (ms). */
  at: number;
  /** What we answered. */
  status: number;
}

/** Decides the status for a delivery to `path`; `seen` counts earlier deliveries of this webhook-id to this path. */
export type Responder = (path: string, webhookId: string, seen: number) => number;

/**
 * A local webhook receiver that verifies every delivery with `standardwebhooks` (a bad signature
 * is recorded in `rejected` and answered 401) and answers as `respond` says. `stop()` in afterAll.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  readonly rejected: string[] = [];
  respond: Responder = () => 204;

  private readonly server: Server;
  private readonly verifier: Webhook;
  baseUrl = '';

  private constructor(secret: string) {
    this.verifier = new Webhook(secret);
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        res.statusCode = this.record(req.url ?? '/', req.headers as Record<string, string>, Buffer.concat(chunks));
        res.end();
      });
    });
  }

  static async start(secret: string): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(secret);
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.baseUrl = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
    return receiver;
  }

  private record(path: string, headers: Record<string, string>, raw: Buffer): number {
    let body: ReceivedWebhook['body'];
    try {
      body = this.verifier.verify(raw.toString('utf8'), headers) as ReceivedWebhook['body'];
    } catch (error) {
      this.rejected.push(`${path}: ${String(error)}`);
      return 401;
    }
    const webhookId = String(headers['webhook-id']);
    const seen = this.received.filter((r) => r.path === path && r.webhookId === webhookId).length;
    const status = this.respond(path, webhookId, seen);
    this.received.push({
      path,
      webhookId,
      timestamp: String(headers['webhook-timestamp']),
      body,
      raw,
      headers,
      at: performance.now(),
      status,
    });
    return status;
  }

  /** Deliveries of one event to one path, in arrival order. */
  deliveries(path: string, eventId: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.path === path && r.webhookId === eventId);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
