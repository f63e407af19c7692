import type { CounterFamily } from '../../infra/counters/index.js';

/** The windows `popular` and `stats` report, and how many whole hours before the current one each spans. */
export const POPULARITY_WINDOWS = { '1h': 1, '24h': 24, '7d': 168 } as const;
export type PopularityWindow = keyof typeof POPULARITY_WINDOWS;
export const WINDOW_NAMES = Object.keys(POPULARITY_WINDOWS) as PopularityWindow[];

const HOUR_MS = 3_600_000;

/**
 * Views of GET /v1/products/{id}, per product (member) per hour bucket, with the viewers' ids.
 * A window of N hours reads the current hour and the N before it; the buckets live that long.
 */
export const PRODUCT_VIEWS: CounterFamily = {
  name: 'product-views',
  bucketMs: HOUR_MS,
  retainBuckets: POPULARITY_WINDOWS['7d'] + 1,
};

/** The route whose answers count (Fastify's route template). */
export const PRODUCT_READ_ROUTE = '/v1/products/:id';
