import { setTimeout as sleep } from 'node:timers/promises';
import { type BenchContext, randomItem, startService } from '../lib/context.js';
import type { ScenarioResult } from '../lib/report.js';
import { LatencyRecorder } from '../lib/stats.js';
import { WebhookReceiver } from '../lib/webhook-receiver.js';

/**
 * Commit → webhook received: PATCHes at a steady rate against an instance whose WEBHOOK_URLS
 * points at a local receiver. Latency is receive time minus the event's `occurredAt` (stamped
 * inside the write's transaction, just before the commit), both on this machine's clock.
 */
export async function eventPath(ctx: BenchContext): Promise<ScenarioResult> {
  const receiver = await WebhookReceiver.start(ctx.webhookSecret);
  const server = await startService(ctx, 'events', {
    WEBHOOK_URLS: receiver.url,
    WEBHOOK_SECRET: ctx.webhookSecret,
  });
  const { eventRate, durationSec, warmupSec } = ctx.options;
  const ids = ctx.productIds;
  let sent = 0;
  let ok = 0;
  let failed = 0;
  const inFlight = new Set<Promise<void>>();
  const patchOne = async (id: string, record: boolean): Promise<void> => {
    try {
      const response = await fetch(`${server.url}/v1/products/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.apiKey}` },
        body: JSON.stringify({ stock: Math.floor(Math.random() * 1000) }),
      });
      await response.arrayBuffer();
      if (record && response.status === 200) ok++;
      else if (record) failed++;
    } catch {
      if (record) failed++;
    }
  };
  const drive = async (seconds: number, record: boolean): Promise<void> => {
    const interval = 1000 / eventRate;
    const startedAt = performance.now();
    for (let i = 0; performance.now() - startedAt < seconds * 1000; i++) {
      const id = randomItem(ids);
      if (record) sent++;
      const pending = patchOne(id, record).finally(() => inFlight.delete(pending));
      inFlight.add(pending);
      // Schedule against the start time, so a slow tick does not lower the rate.
      const wait = startedAt + (i + 1) * interval - performance.now();
      if (wait > 0) await sleep(wait);
    }
    await Promise.all(inFlight);
  };
  try {
    await drive(Math.min(warmupSec, 2), false);
    await sleep(500);
    const measuredFrom = Date.now();
    await drive(durationSec, true);
    // Every PATCH acknowledged in the measured window must produce one delivery.
    const expected = ok;
    // Wait for stragglers (at-least-once delivery may retry), at most 10 s.
    const relevant = () =>
      [...receiver.deliveries.values()].filter((d) => d.type === 'product.updated' && d.occurredAtMs >= measuredFrom);
    const deadline = Date.now() + 10_000;
    while (relevant().length < expected && Date.now() < deadline) await sleep(100);
    const deliveries = relevant();
    await server.sampleRss();
    if (deliveries.length === 0) {
      return {
        id: 'events',
        label: 'event path: commit → webhook received',
        status: 'failed',
        reason: `no webhook arrived for ${expected} PATCHes`,
        unit: 'ms',
        rssMb: server.peakRssMb,
      };
    }
    const recorder = new LatencyRecorder();
    for (const d of deliveries) recorder.record(d.receivedAtMs - d.occurredAtMs);
    const { p50, p99, max } = recorder.summary();
    const notes = [`${deliveries.length}/${expected} deliveries within 10 s of the last write at ${eventRate}/s`];
    if (receiver.badSignatures > 0) notes.push(`${receiver.badSignatures} bad signatures`);
    if (receiver.duplicates > 0) notes.push(`${receiver.duplicates} duplicate deliveries`);
    return {
      id: 'events',
      label: `event path: commit → webhook received (${eventRate} writes/s)`,
      status: 'ok',
      unit: 'ms',
      rate: p50 ?? undefined,
      p50,
      p99,
      errors: failed + Math.max(0, expected - deliveries.length) + receiver.badSignatures,
      rssMb: server.peakRssMb,
      notes,
      details: { sent, failed, expected, delivered: deliveries.length, maxMs: max, duplicates: receiver.duplicates },
    };
  } finally {
    await server.stop();
    await receiver.close();
  }
}
