import { Logger } from '@nestjs/common';
import type { Counter } from 'prom-client';
import type { MetricsService } from '../metrics/index.js';
import type { CacheResult } from './cache.types.js';

type ResultCounter = ReturnType<Counter<'cache' | 'result'>['labels']>;

/**
 * `cache_requests_total{cache,result}` and the debug line of a failed store call. The label
 * children are made once per (cache, result) and reused: counting runs on every request.
 */
export class CacheMetrics {
  private readonly logger = new Logger('Cache');
  private readonly counters = new Map<string, Map<CacheResult, ResultCounter>>();

  constructor(private readonly metrics: MetricsService | undefined) {}

  count(name: string | undefined, result: CacheResult): void {
    if (this.metrics === undefined) return;
    const cache = name ?? 'default';
    let children = this.counters.get(cache);
    if (children === undefined) this.counters.set(cache, (children = new Map<CacheResult, ResultCounter>()));
    let child = children.get(result);
    if (child === undefined) children.set(result, (child = this.metrics.cacheRequests.labels(cache, result)));
    child.inc();
  }

  /** A store call that failed: counted as an `error` and logged at debug (the caller goes on as for a miss). */
  failed(operation: string, key: string, error: unknown, name?: string): void {
    this.count(name, 'error');
    this.logger.debug(
      `cache ${operation} failed for ${key}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
