import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendWebhook } from './webhook-sender.js';
import { WebhookSigner, webhookBody } from './webhook-signer.js';

const userAgent = 'test-service/1.2.3';
const secret = `whsec_${Buffer.from('a-test-secret-of-some-length!!').toString('base64')}`;

describe('sendWebhook', () => {
  let server: Server;
  let base: string;
  let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_q, res) => res.end();

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => handler(req, res, body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const signed = () =>
    new WebhookSigner(secret).sign(
      'evt-1',
      webhookBody({ id: 'evt-1', type: 'user.created', occurredAt: '2026-01-01T00:00:00.000Z', data: { a: 1 } }),
    );

  it('sends a body and headers a Standard Webhooks receiver verifies', async () => {
    let verified: unknown;
    handler = (req, res, body) => {
      verified = new Webhook(secret).verify(body, req.headers as Record<string, string>);
      res.statusCode = 204;
      res.end();
    };
    await expect(sendWebhook(`${base}/hook`, signed(), { timeoutMs: 2000, userAgent })).resolves.toEqual({
      kind: 'delivered',
      status: 204,
    });
    expect(verified).toEqual({
      id: 'evt-1',
      type: 'user.created',
      occurredAt: '2026-01-01T00:00:00.000Z',
      data: { a: 1 },
    });
  });

  it('asks for a retry on a 500 and stops on a 410', async () => {
    handler = (_req, res) => {
      res.statusCode = 500;
      res.end('nope');
    };
    await expect(sendWebhook(`${base}/hook`, signed(), { timeoutMs: 2000, userAgent })).resolves.toEqual({
      kind: 'retry',
      status: 500,
      error: 'HTTP 500',
    });
    handler = (_req, res) => {
      res.statusCode = 410;
      res.end();
    };
    await expect(sendWebhook(`${base}/hook`, signed(), { timeoutMs: 2000, userAgent })).resolves.toEqual({
      kind: 'gone',
      status: 410,
    });
  });

  it('does not follow a redirect', async () => {
    const seen: string[] = [];
    handler = (req, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/hook') {
        res.writeHead(307, { location: `${base}/elsewhere` });
        res.end();
      } else res.end();
    };
    await expect(sendWebhook(`${base}/hook`, signed(), { timeoutMs: 2000, userAgent })).resolves.toMatchObject({
      kind: 'retry',
      status: 307,
    });
    expect(seen).toEqual(['/hook']);
  });

  it('gives up on a receiver that does not answer in time', async () => {
    handler = () => undefined; // never answers
    await expect(sendWebhook(`${base}/hook`, signed(), { timeoutMs: 200, userAgent })).resolves.toEqual({
      kind: 'retry',
      error: 'timed out after 200 ms',
    });
  });

  it('reports a refused connection as retryable', async () => {
    const outcome = await sendWebhook('http://127.0.0.1:1/hook', signed(), { timeoutMs: 2000, userAgent });
    expect(outcome).toMatchObject({ kind: 'retry' });
    expect((outcome as { error: string }).error).toMatch(/ECONNREFUSED/);
  });
});
