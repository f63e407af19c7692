import type { Type } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory.js';
import { checkResponseAgainstDocument, loadResponseValidator } from './openapi-recorder.js';
import { UNTHROTTLED } from './unthrottled.js';

export interface TestApp {
  app: NestFastifyApplication;
  baseUrl: string;
  /**
   * fetch against this instance: `request('/v1/products', { method: 'POST', json: {...} })`. The
   * response is checked against the OpenAPI document first (status, body, headers).
   */
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Boots the real application (the same factory main.ts uses) on a random port with `env`
 * applied to process.env while it is built; config is read at that moment only. `module`
 * replaces `AppModule` as the root (a test module importing it, to add a probe controller).
 */
export async function bootTestApp(env: Record<string, string | undefined>, module?: Type<unknown>): Promise<TestApp> {
  const saved = { ...process.env };
  // Rate limits stay out of the way of suites that are not about them (throttle*.e2e-spec.ts set their own).
  Object.assign(process.env, { NODE_ENV: 'test', ...UNTHROTTLED, ...env });
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete process.env[key];
  let app: NestFastifyApplication;
  try {
    app = await createApp({ logger: ['error', 'fatal'], module });
    await app.listen({ port: 0, host: '127.0.0.1' });
  } finally {
    process.env = saved;
  }
  const baseUrl = await app.getUrl().then((url) => url.replace('[::1]', '127.0.0.1'));
  // Load and compile the document now, not during the first request a test may be timing.
  await loadResponseValidator(baseUrl);
  const checks: Array<Promise<void>> = [];
  const mismatches: string[] = [];
  return {
    app,
    baseUrl,
    request: async (path, init = {}) => {
      const { json, headers, ...rest } = init;
      const response = await fetch(`${baseUrl}${path}`, {
        ...rest,
        headers: {
          ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(headers as Record<string, string>),
        },
        body: json !== undefined ? JSON.stringify(json) : rest.body,
      });
      // Every response a suite receives must match the app's OpenAPI document (openapi-recorder.ts).
      // The check runs beside the test, on a copy, so it adds no latency to what a test measures;
      // a mismatch fails the suite when it closes the app.
      checks.push(
        checkResponseAgainstDocument(baseUrl, rest.method ?? 'GET', path, response.clone()).catch(
          (error: Error) => void mismatches.push(error.message),
        ),
      );
      return response;
    },
    close: async () => {
      await Promise.all(checks);
      await app.close();
      if (mismatches.length > 0) throw new Error(mismatches.join('\n'));
    },
  };
}

/** Asserts the RFC 9457 shape every error response must have, and returns the body. */
export async function problemOf(
  response: Response,
): Promise<{ status: number; title: string; detail: string; errors?: Array<{ field: string; message: string }> }> {
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('application/problem+json')) {
    throw new Error(`expected application/problem+json, got ${type} (${response.status}): ${await response.text()}`);
  }
  const body = (await response.json()) as { status: number; title: string; detail: string; type: string };
  if (body.status !== response.status || body.type !== 'about:blank' || typeof body.detail !== 'string') {
    throw new Error(`malformed problem details: ${JSON.stringify(body)}`);
  }
  return body;
}
