import { Injectable, Logger } from '@nestjs/common';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus series the service exposes, on a registry of its own (two app instances in
 * one process, as the tests run them, must not share series). Modules increment the series they
 * own; gauges that are read from elsewhere (queue depth, outbox lag) are filled at scrape time
 * by collectors registered with `onCollect`.
 */
@Injectable()
export class MetricsService {
  private readonly logger = new Logger('Metrics');
  readonly registry = new Registry();
  private readonly collectors: Array<() => Promise<void>> = [];

  readonly httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  /** result: hit | miss | stale | error | coalesced (a miss that shared another caller's load). */
  readonly cacheRequests = new Counter({
    name: 'cache_requests_total',
    help: 'Cache lookups by cache name and result',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
  });

  readonly throttledRequests = new Counter({
    name: 'throttled_requests_total',
    help: 'Requests refused by the rate limiter, by tier',
    labelNames: ['tier'] as const,
    registers: [this.registry],
  });

  /** mode: local (decided by the instance's in-memory limiter) | closed (refused with 503). */
  readonly throttleFallbacks = new Counter({
    name: 'throttle_fallbacks_total',
    help: 'Rate-limit decisions made without Redis while it was unavailable, by fail mode',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });

  /** outcome: completed | retried (will run again) | failed (no attempt left, or unrecoverable) */
  readonly jobOutcomes = new Counter({
    name: 'queue_jobs_total',
    help: 'Background jobs by queue, job name and outcome',
    labelNames: ['queue', 'job', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'queue_job_duration_seconds',
    help: 'Background job processing time by queue and job name',
    labelNames: ['queue', 'job'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'queue_depth',
    help: 'Jobs per queue and state (waiting, active, delayed, failed)',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });

  readonly outboxLag = new Gauge({
    name: 'outbox_lag_seconds',
    help: 'Age of the oldest domain event not yet handed to the queue (0 when none)',
    registers: [this.registry],
  });

  /** outcome: delivered | retried | gone | dead_lettered | dropped (a job naming no committed event or configured receiver) */
  readonly webhookDeliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /**
   * reason: members (a view dropped: the flush buffer held its most distinct members) | ids (a view
   * counted without its viewer: the buffer held its most distinct ids).
   */
  readonly countersDropped = new Counter({
    name: 'counters_dropped_total',
    help: 'Counted views the in-process buffer could not keep in full, by counter family and reason',
    labelNames: ['family', 'reason'] as const,
    registers: [this.registry],
  });

  /** outcome: stored | failed (the batch goes back to the buffer for the next flush). */
  readonly counterFlushes = new Counter({
    name: 'counters_flushes_total',
    help: 'Flushes of buffered counters to their store, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** reason: client-limit | limiter-unavailable */
  readonly welcomeEmailsSuppressed = new Counter({
    name: 'welcome_emails_suppressed_total',
    help: 'Users created whose welcome email was not sent, by reason (the per-client limit, or the limiter being unavailable)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** outcome: new (processed) | replayed | conflict (409, in flight) | mismatch (422, other request). */
  readonly idempotencyRequests = new Counter({
    name: 'idempotency_requests_total',
    help: 'Requests that carried an Idempotency-Key, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // prom-client names these three gauges `*_total`, a suffix Prometheus reserves for counters
    // (`promtool check metrics` flags them); the same counts stay, by type, in `nodejs_active_handles`,
    // `nodejs_active_requests` and `nodejs_active_resources`.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      this.registry.removeSingleMetric(name);
    }
  }

  /** Registers work that refreshes gauges just before each scrape. It must not throw. */
  onCollect(collector: () => Promise<void>): void {
    this.collectors.push(collector);
  }

  async render(): Promise<string> {
    const outcomes = await Promise.allSettled(this.collectors.map((collect) => collect()));
    // A failing collector leaves its gauges at their last value: say so rather than serve them silently.
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') this.logger.warn(`a metrics collector failed: ${String(outcome.reason)}`);
    }
    return this.registry.metrics();
  }
}
