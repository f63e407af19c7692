import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { MetricsService } from '../metrics/index.js';
import { CounterBuffer, type CounterBufferLimits } from './counter-buffer.js';
import { type CounterFamily, CountersStore, type MemberCount, type MemberTotals } from './counters.store.js';
import { COUNTERS_OPTIONS } from './counters.tokens.js';

export interface CountersOptions extends CounterBufferLimits {
  /** At most one flush per this many ms. */
  flushIntervalMs: number;
  /** The clock (tests move it). */
  now?: () => number;
}

/**
 * Time-bucketed counters with a distinct-id estimate, for features that count what they serve
 * (`product-views`). `record` only touches process memory; a timer flushes what was recorded in
 * one batch per interval, and shutdown flushes the rest. Reads go to the store.
 *
 * ```ts
 * counters.record(PRODUCT_VIEWS, productId, viewerId);   // sync, no I/O
 * await counters.top(PRODUCT_VIEWS, 24, 10);             // the last 24 buckets and the current one
 * await counters.totals(PRODUCT_VIEWS, productId, [1, 24, 168]);
 * ```
 */
@Injectable()
export class CountersService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Counters');
  private readonly buffer: CounterBuffer;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    @Inject(CountersStore) private readonly store: CountersStore,
    @Inject(COUNTERS_OPTIONS) private readonly options: CountersOptions,
    private readonly metrics: MetricsService,
  ) {
    this.buffer = new CounterBuffer(options);
    this.now = options.now ?? Date.now;
  }

  onModuleInit(): void {
    // unref: a pending flush never keeps a process alive; shutdown flushes explicitly.
    // A tick while a flush is still running (a slow Redis) is skipped, not queued behind it.
    this.timer = setInterval(() => {
      if (this.flushing === undefined) void this.flush();
    }, this.options.flushIntervalMs).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    // The HTTP server has closed by now (Nest disposes it first): nothing is recorded after this.
    await this.flush();
    await this.store.close();
  }

  /** Counts one occurrence of `member`, seen by `id`, in the current bucket. Never throws, never waits. */
  record(family: CounterFamily, member: string, id: string | undefined): void {
    const outcome = this.buffer.record(family, member, id, this.now());
    if (outcome === 'dropped') this.metrics.countersDropped.inc({ family: family.name, reason: 'members' });
    else if (outcome === 'id-dropped') this.metrics.countersDropped.inc({ family: family.name, reason: 'ids' });
  }

  /**
   * Sends what was recorded since the last flush (one batch). One flush at a time: a call while
   * one runs waits for it, then sends what came in meanwhile. A failed batch goes back to the buffer.
   */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.send().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /** The `limit` members counted most over the current bucket and the `buckets` before it. */
  top(family: CounterFamily, buckets: number, limit: number): Promise<MemberCount[]> {
    return this.store.top(family, this.rangeOf(family, buckets), limit);
  }

  /** One member's count and distinct ids over each window (the current bucket and that many before it). */
  totals(family: CounterFamily, member: string, windows: readonly number[]): Promise<MemberTotals[]> {
    return this.store.totals(
      family,
      member,
      windows.map((buckets) => this.rangeOf(family, buckets)),
    );
  }

  /** Forgets a member in every retained bucket (its counts and ids). */
  remove(family: CounterFamily, member: string): Promise<void> {
    return this.store.remove(family, member, this.rangeOf(family, family.retainBuckets - 1));
  }

  private async send(): Promise<void> {
    for (const batch of this.buffer.drain()) {
      if (batch.increments.length === 0) continue;
      try {
        await this.store.add(batch.family, batch.increments);
        this.metrics.counterFlushes.inc({ outcome: 'stored' });
      } catch (error) {
        // Retried with the next flush. Should Redis have applied it and only the reply was lost,
        // those views count twice (docs/popularity.md).
        this.metrics.counterFlushes.inc({ outcome: 'failed' });
        const lost = this.buffer.restore(batch);
        if (lost > 0) this.metrics.countersDropped.inc({ family: batch.family.name, reason: 'members' }, lost);
        this.logger.warn({ msg: 'counters flush failed; retrying with the next one', err: error });
      }
    }
  }

  private rangeOf(family: CounterFamily, buckets: number): { from: number; to: number } {
    const to = Math.floor(this.now() / family.bucketMs);
    return { from: to - buckets, to };
  }
}
