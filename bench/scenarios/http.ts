import { type BenchContext, randomItem } from '../lib/context.js';
import { type LoadRequest, type LoadResult, runLoad } from '../lib/load.js';
import type { RunningProcess } from '../lib/processes.js';
import type { ScenarioResult } from '../lib/report.js';

/** The load of one scenario, plus what a probe request saw afterwards (e.g. the Cache-Status header). */
export interface HttpMeasurement {
  result: ScenarioResult;
  load: LoadResult;
}

export const getById = (ids: readonly string[]): LoadRequest => ({
  next: () => ({ path: `/v1/products/${randomItem(ids)}` }),
});

export const listPages: LoadRequest = {
  next: () => ({ path: Math.random() < 0.5 ? '/v1/products?limit=20' : '/v1/products?limit=20&active=true' }),
};

/** PATCH a random product's stock; `auth` adds the API key (the service requires it, the baseline has none). */
export const patchStock = (ids: readonly string[], apiKey?: string): LoadRequest => ({
  method: 'PATCH',
  headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
  next: () => ({ path: `/v1/products/${randomItem(ids)}`, body: `{"stock":${Math.floor(Math.random() * 1000)}}` }),
});

/**
 * The same PATCH with a fresh `Idempotency-Key` on each request: every one is processed (none is a
 * replay), so the difference to `patchStock` is the key's cost: its lookup before the transaction,
 * and the insert and update of its row inside it.
 */
export const patchStockIdempotent = (ids: readonly string[], apiKey?: string): LoadRequest => {
  const base = patchStock(ids, apiKey);
  const run = Math.random().toString(36).slice(2, 10);
  let sequence = 0;
  return { ...base, next: () => ({ ...base.next(), headers: { 'idempotency-key': `bench-${run}-${sequence++}` } }) };
};

/**
 * Warm-up, then measured load against one running server; afterwards one probe request records
 * the cache header the server sent, so a "cached" row that never hit the cache says so.
 */
export async function measureHttp(
  ctx: BenchContext,
  server: RunningProcess,
  id: string,
  label: string,
  request: LoadRequest,
): Promise<HttpMeasurement> {
  await server.sampleRss();
  const load = await runLoad({
    url: server.url,
    connections: ctx.options.connections,
    durationSec: ctx.options.durationSec,
    warmupSec: ctx.options.warmupSec,
    request,
  });
  const notes: string[] = [];
  if (request.method === undefined || request.method === 'GET') {
    const probe = await fetch(`${server.url}${request.next().path}`);
    await probe.arrayBuffer();
    const cacheStatus = probe.headers.get('cache-status');
    const policy = probe.headers.get('ratelimit-policy');
    notes.push(
      `probe: ${probe.status}, Cache-Status: ${cacheStatus ?? '(none)'}, RateLimit-Policy: ${policy ?? '(none)'}`,
    );
    if ((id === 'cached' || id === 'list') && !/\bhit\b/.test(cacheStatus ?? ''))
      notes.push('NOT served from the cache after the warm-up');
  }
  const non2xx = Object.entries(load.statusCodes).filter(([code]) => !code.startsWith('2'));
  if (non2xx.length > 0) notes.push(`status codes: ${non2xx.map(([c, n]) => `${c}×${n}`).join(', ')}`);
  if (!server.running) notes.push(`${server.name} exited during the run (see ${server.logFile})`);
  return {
    load,
    result: {
      id,
      label,
      status: 'ok',
      unit: 'req/s',
      rate: load.requestsPerSec,
      p50: load.p50,
      p99: load.p99,
      errors: load.errors,
      rssMb: server.peakRssMb,
      notes,
      details: { total: load.total, durationSec: load.durationSec, statusCodes: load.statusCodes, maxMs: load.max },
    },
  };
}
