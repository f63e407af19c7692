import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BenchContext, SERVICE_ENTRY, startService } from '../lib/context.js';
import type { RunningProcess } from '../lib/processes.js';
import type { ScenarioResult } from '../lib/report.js';
import { getById, measureHttp } from './http.js';

/** utime + stime of a process, in ms (from /proc; Linux only). */
async function cpuMs(process: RunningProcess): Promise<number> {
  const stat = await readFile(`/proc/${process.pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Rounds of off-then-on: the machine is shared, so each variant's figure is the median of its rounds. */
const ROUNDS = 3;

interface Round {
  result: ScenarioResult;
  cpuUsPerRequest: number;
}

/**
 * The cached GET by id with popularity counting off (POPULARITY_COUNT_VIEWS=false) and on, each on
 * a fresh instance sharing the warm cache, interleaved over three rounds, with the service's CPU
 * time per request (from /proc, over warm-up and measurement: both variants pay the same overhead,
 * so compare them). Each row is the round with the median CPU per request.
 */
export async function countingOnOff(ctx: BenchContext): Promise<ScenarioResult[]> {
  const rounds: Record<'off' | 'on', Round[]> = { off: [], on: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const counting of [false, true]) {
      rounds[counting ? 'on' : 'off'].push(await measureOnce(ctx, counting));
    }
  }
  const median = (list: Round[]): Round => [...list].sort((a, b) => a.cpuUsPerRequest - b.cpuUsPerRequest)[1]!;
  const off = median(rounds.off);
  const on = median(rounds.on);
  const all = (list: Round[]) => list.map((r) => `${r.cpuUsPerRequest} µs / ${r.result.rate} req/s`).join(', ');
  const row = (chosen: Round, list: Round[]): ScenarioResult => ({
    ...chosen.result,
    notes: [
      ...(chosen.result.notes ?? []),
      `service CPU ${chosen.cpuUsPerRequest} µs per request (median of ${ROUNDS} rounds: ${all(list)})`,
    ],
    details: { ...chosen.result.details, cpuUsPerRequest: chosen.cpuUsPerRequest },
  });
  const onRow = row(on, rounds.on);
  onRow.notes!.push(
    `vs off: ${(((on.cpuUsPerRequest - off.cpuUsPerRequest) / off.cpuUsPerRequest) * 100).toFixed(1)} % CPU per request`,
  );
  const record = await recordCost();
  onRow.notes!.push(
    `one view recorded in memory: ${record.nsPerView} ns (${((record.nsPerView / 1000 / off.cpuUsPerRequest) * 100).toFixed(2)} % of the off row's CPU per request)`,
  );
  const flush = await flushCost(ctx);
  onRow.notes!.push(
    `one product in a flush to Redis: ${flush.usPerProduct} µs (${((flush.usPerProduct / off.cpuUsPerRequest) * 100).toFixed(2)} % of the off row's CPU per request; each view costs this when every view in a second is of a different product)`,
  );
  return [row(off, rounds.off), onRow, record.result, flush.result];
}

/** The subset of the built `RedisCountersStore` this measurement calls. */
interface CountersStoreLike {
  connect(timeoutMs?: number): Promise<boolean>;
  add(family: object, increments: { bucket: number; member: string; count: number; ids: string[] }[]): Promise<void>;
  close(): Promise<void>;
  readonly client: { scanIterator(options: object): AsyncIterable<string[]>; del(keys: string[]): Promise<unknown> };
}

/**
 * What a flush costs the service per product it carries, measured alone: the built
 * `RedisCountersStore.add` of 1000 products with 3 viewers each (one bucket), 50 times, CPU time
 * of the harness process (the store's encoding and replies; Redis's own work is not counted).
 */
async function flushCost(ctx: BenchContext): Promise<{ usPerProduct: number; result: ScenarioResult }> {
  const path = join(dirname(SERVICE_ENTRY), 'infra/counters/redis-counters.store.js');
  const { RedisCountersStore } = (await import(pathToFileURL(path).href)) as {
    RedisCountersStore: new (options: { url: string; keyPrefix: string }) => CountersStoreLike;
  };
  const keyPrefix = `${ctx.redis.prefix}-flush`;
  const store = new RedisCountersStore({ url: ctx.redis.url, keyPrefix });
  try {
    if (!(await store.connect(5000))) throw new Error(`Redis at ${ctx.redis.url} is not reachable`);
    const family = { name: 'product-views', bucketMs: 3_600_000, retainBuckets: 169 };
    const bucket = Math.floor(Date.now() / family.bucketMs);
    const batch = Array.from({ length: 1000 }, (_, i) => ({
      bucket,
      member: `product-${i}`,
      count: 3,
      ids: [`client-${i % 50}`, `client-${(i + 1) % 50}`, `client-${(i + 2) % 50}`],
    }));
    for (let i = 0; i < 10; i += 1) await store.add(family, batch);
    const flushes = 50;
    const started = process.cpuUsage();
    for (let i = 0; i < flushes; i += 1) await store.add(family, batch);
    const spent = process.cpuUsage(started);
    const usPerProduct = Math.round(((spent.user + spent.system) / flushes / batch.length) * 100) / 100;
    return {
      usPerProduct,
      result: {
        id: 'counting-flush',
        label: 'view counting: a flush of 1000 products to Redis',
        status: 'ok',
        unit: 'ops/s',
        rate: Math.round(1e6 / usPerProduct),
        notes: [`${usPerProduct} µs of CPU per product flushed (3 viewers each), in the harness process`],
      },
    };
  } finally {
    for await (const keys of store.client.scanIterator({ MATCH: `${keyPrefix}:*`, COUNT: 1000 }))
      if (keys.length > 0) await store.client.del(keys);
    await store.close();
  }
}

/** The subset of the built `CounterBuffer` this measurement calls. */
interface BufferLike {
  record(family: object, member: string, id: string, now: number): string;
  drain(): unknown;
}

/**
 * What the hook adds to a request, measured alone (no load generator competing for the cores):
 * `clientKeyOf` and `CounterBuffer.record` of the built service, for 1000 products × 50 viewers in random order,
 * drained as a flush would every 100 000 views.
 */
async function recordCost(): Promise<{ nsPerView: number; result: ScenarioResult }> {
  const path = join(dirname(SERVICE_ENTRY), 'infra/counters/counter-buffer.js');
  const { CounterBuffer } = (await import(pathToFileURL(path).href)) as {
    CounterBuffer: new (limits: { maxMembers: number; maxIds: number }) => BufferLike;
  };
  const { clientKeyOf } = (await import(
    pathToFileURL(join(dirname(SERVICE_ENTRY), 'infra/throttle/client-key.js')).href
  )) as { clientKeyOf: (request: { ip: string; apiKeyName?: string }) => string };
  const buffer = new CounterBuffer({ maxMembers: 10_000, maxIds: 100_000 });
  const family = { name: 'product-views', bucketMs: 3_600_000, retainBuckets: 169 };
  const products = Array.from({ length: 1000 }, (_, i) => `product-${i}`);
  // What the hook hands clientKeyOf: half with an API key name, half by IP.
  const viewers = Array.from({ length: 50 }, (_, i) =>
    i % 2 === 0 ? { ip: `203.0.113.${i}`, apiKeyName: `client-${i}` } : { ip: `203.0.113.${i}` },
  );
  const views = 2_000_000;
  const picks = Array.from({ length: 4096 }, () => [
    products[Math.floor(Math.random() * products.length)]!,
    viewers[Math.floor(Math.random() * viewers.length)]!,
  ]);
  const started = process.hrtime.bigint();
  for (let i = 0; i < views; i += 1) {
    const [product, viewer] = picks[i & 4095]!;
    buffer.record(family, product as string, clientKeyOf(viewer as { ip: string }), Date.now());
    if (i % 100_000 === 99_999) buffer.drain();
  }
  const elapsedNs = Number(process.hrtime.bigint() - started);
  const nsPerView = Math.round(elapsedNs / views);
  return {
    nsPerView,
    result: {
      id: 'counting-record',
      label: 'view counting: CounterBuffer.record alone',
      status: 'ok',
      unit: 'ops/s',
      rate: Math.round((views / elapsedNs) * 1e9),
      notes: [`${nsPerView} ns per view (clientKeyOf and Date.now() included), in the harness process`],
    },
  };
}

async function measureOnce(ctx: BenchContext, counting: boolean): Promise<Round> {
  const id = counting ? 'counting-on' : 'counting-off';
  const server = await startService(ctx, `service-${id}`, { POPULARITY_COUNT_VIEWS: String(counting) });
  try {
    const before = await cpuMs(server);
    const { result, load } = await measureHttp(
      ctx,
      server,
      id,
      `cached GET /v1/products/:id, view counting ${counting ? 'on' : 'off'}`,
      getById(ctx.productIds),
    );
    const spent = (await cpuMs(server)) - before;
    // load.total counts the measured seconds only; the warm-up ran at about the same rate.
    const requests = load.total * ((ctx.options.durationSec + ctx.options.warmupSec) / ctx.options.durationSec);
    return { result, cpuUsPerRequest: Math.round((spent * 1000) / Math.max(1, requests)) };
  } finally {
    await server.stop();
  }
}
