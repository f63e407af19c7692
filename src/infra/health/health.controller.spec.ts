import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ProblemException, ShutdownState } from '../http/index.js';
import { HealthIndicatorRegistry } from './health-indicator.registry.js';
import { HealthController } from './health.controller.js';

const request = { id: 'req-1' } as FastifyRequest;

function controllerWith(probes: Record<string, (signal: AbortSignal) => Promise<unknown>>): HealthController {
  const registry = new HealthIndicatorRegistry();
  for (const [name, probe] of Object.entries(probes)) registry.register(name, probe);
  return new HealthController(registry, new ShutdownState());
}

async function readiness(controller: HealthController): Promise<{ status: number; body: unknown }> {
  try {
    return { status: 200, body: await controller.ready(request) };
  } catch (error) {
    if (!(error instanceof ProblemException)) throw error;
    return { status: error.getStatus(), body: error.getResponse() };
  }
}

describe('HealthController readiness', () => {
  it('is ok when every probe answers', async () => {
    const controller = controllerWith({ database: () => Promise.resolve(1), redis: () => Promise.resolve('PONG') });
    expect(await readiness(controller)).toEqual({
      status: 200,
      body: { status: 'ok', details: { database: { status: 'up' }, redis: { status: 'up' } } },
    });
  });

  it('names a probe that throws, synchronously or not, and keeps the others up', async () => {
    const controller = controllerWith({
      database: () => Promise.reject(new Error('connection refused')),
      redis: () => {
        throw new Error('thrown before any promise');
      },
      queue: () => Promise.resolve('ok'),
    });
    const { status, body } = await readiness(controller);
    expect(status).toBe(503);
    expect(JSON.stringify(body)).toContain('Not ready: database, redis unavailable');
    expect(JSON.stringify(body)).not.toContain('connection refused'); // driver messages stay in the logs
  });

  it('gives up on a probe that never settles after its timeout, and aborts its signal', async () => {
    let signal: AbortSignal | undefined;
    const controller = controllerWith({
      database: () => Promise.resolve(1),
      redis: (given) => {
        signal = given;
        return new Promise(() => undefined);
      },
    });
    const { status, body } = await readiness(controller);
    expect(status).toBe(503);
    expect(JSON.stringify(body)).toContain('Not ready: redis unavailable');
    expect(signal?.aborted).toBe(true);
  });
});
