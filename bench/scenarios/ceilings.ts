import { setTimeout as sleep } from 'node:timers/promises';
import { CEILING_ENTRY, RESULTS_DIR, type BenchContext } from '../lib/context.js';
import { runLoad } from '../lib/load.js';
import { sparePort, startProcess } from '../lib/processes.js';
import type { ScenarioResult } from '../lib/report.js';
import { LatencyRecorder } from '../lib/stats.js';

/** Ceiling 1: a bare node:http server (its own process) answering the same JSON body. */
export async function httpCeiling(ctx: BenchContext): Promise<ScenarioResult> {
  const port = await sparePort();
  const server = await startProcess({
    name: 'ceiling-http',
    entry: CEILING_ENTRY,
    port,
    readyPath: '/',
    readyStatus: 200,
    logDir: RESULTS_DIR,
    env: { PORT: String(port), CEILING_BODY: ctx.sampleBody },
  });
  try {
    const load = await runLoad({
      url: server.url,
      connections: ctx.options.connections,
      durationSec: ctx.options.durationSec,
      warmupSec: ctx.options.warmupSec,
      request: { next: () => ({ path: '/v1/products/x' }) },
    });
    return {
      id: 'ceiling-http',
      label: 'ceiling: bare node:http, same JSON',
      status: 'ok',
      unit: 'req/s',
      rate: load.requestsPerSec,
      p50: load.p50,
      p99: load.p99,
      errors: load.errors,
      rssMb: server.peakRssMb,
    };
  } finally {
    await server.stop();
  }
}

/**
 * Ceiling 2: raw Redis GETs of a product-sized value, `connections` concurrent loops on one
 * ioredis connection (the way a service instance talks to Redis).
 */
export async function redisCeiling(ctx: BenchContext): Promise<ScenarioResult> {
  const { client, prefix } = ctx.redis;
  const key = `${prefix}:ceiling:product`;
  await client.set(key, ctx.sampleBody);
  const run = async (seconds: number, recorder?: LatencyRecorder): Promise<number> => {
    let count = 0;
    const until = performance.now() + seconds * 1000;
    const lanes = Array.from({ length: ctx.options.connections }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        await client.getBuffer(key);
        recorder?.record(performance.now() - started);
        count++;
      }
    });
    await Promise.all(lanes);
    return count;
  };
  await run(Math.min(ctx.options.warmupSec, 1));
  await sleep(50);
  const recorder = new LatencyRecorder();
  const seconds = Math.max(1, Math.min(ctx.options.durationSec, 5));
  const count = await run(seconds, recorder);
  await client.del(key);
  return {
    id: 'ceiling-redis',
    label: 'ceiling: raw Redis GET loop',
    status: 'ok',
    unit: 'ops/s',
    rate: Math.round(count / seconds),
    ...pick(recorder),
    errors: 0,
  };
}

function pick(recorder: LatencyRecorder): { p50: number | null; p99: number | null } {
  const { p50, p99 } = recorder.summary();
  return { p50, p99 };
}
