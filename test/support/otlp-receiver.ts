import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as an OTLP/HTTP JSON export carries it (the fields the tests read). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  scope: string;
  attributes: Record<string, unknown>;
}

/** One POST to /v1/traces as it arrived. */
export interface ReceivedExport {
  contentType: string;
  body: Buffer;
}

/**
 * An OTLP/HTTP trace receiver in a few lines of node:http: every export is kept raw, and JSON
 * exports (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) are decoded into `spans`. `stop()` in afterAll.
 */
export class OtlpReceiver {
  readonly exports: ReceivedExport[] = [];
  readonly spans: ReceivedSpan[] = [];
  url = '';
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const contentType = req.headers['content-type'] ?? '';
        this.exports.push({ contentType, body });
        if (req.url === '/v1/traces' && contentType.startsWith('application/json')) this.decode(body);
        res.setHeader('content-type', contentType.startsWith('application/json') ? 'application/json' : contentType);
        res.end(contentType.startsWith('application/json') ? '{}' : '');
      });
    });
  }

  static async start(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
    return receiver;
  }

  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private decode(body: Buffer): void {
    type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
    type Json = {
      resourceSpans: Array<{
        scopeSpans: Array<{
          scope: { name: string };
          spans: Array<
            Omit<ReceivedSpan, 'scope' | 'attributes'> & { attributes?: Array<{ key: string; value: AnyValue }> }
          >;
        }>;
      }>;
    };
    const json = JSON.parse(body.toString()) as Json;
    for (const resource of json.resourceSpans)
      for (const scoped of resource.scopeSpans)
        for (const span of scoped.spans) {
          const attributes: Record<string, unknown> = {};
          for (const { key, value } of span.attributes ?? [])
            attributes[key] = value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
          this.spans.push({
            ...span,
            parentSpanId: span.parentSpanId || undefined,
            scope: scoped.scope.name,
            attributes,
          });
        }
  }
}
