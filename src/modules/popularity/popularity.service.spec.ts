import { describe, expect, it } from 'vitest';
import { type CountersStore, CountersService, MemoryCountersStore } from '../../infra/counters/index.js';
import { ProblemException } from '../../infra/http/index.js';
import { MetricsService } from '../../infra/metrics/index.js';
import type { CachedProductReader } from '../products/cached-product.reader.js';
import type { ProductResponseDto } from '../products/dto/product-response.dto.js';
import { PopularityService } from './popularity.service.js';
import { PRODUCT_VIEWS } from './product-views.js';

const product = (id: string, createdAt: string): ProductResponseDto => ({
  id,
  sku: id,
  name: id,
  description: null,
  priceCents: 1,
  currency: 'EUR',
  stock: 0,
  active: true,
  version: 1,
  createdAt,
  updatedAt: createdAt,
});

/** A reader over a fixed catalogue (unit tests fake the port; the e2e suite reads the real cache). */
function readerOf(products: ProductResponseDto[]): CachedProductReader {
  const byId = new Map(products.map((p) => [p.id, p]));
  return { find: (id: string) => Promise.resolve(byId.get(id)) } as CachedProductReader;
}

function popularity(store: CountersStore, products: ProductResponseDto[]) {
  const counters = new CountersService(
    store,
    { flushIntervalMs: 60_000, maxMembers: 1000, maxIds: 1000 },
    new MetricsService(),
  );
  return { counters, service: new PopularityService(counters, readerOf(products)) };
}

describe('PopularityService', () => {
  it('ranks by views, then newest first, and leaves out products that no longer exist', async () => {
    const catalogue = [product('old', '2026-01-01T00:00:00.000Z'), product('new', '2026-02-01T00:00:00.000Z')];
    const { counters, service } = popularity(new MemoryCountersStore({ maxIds: 1000 }), catalogue);
    for (const id of ['old', 'new', 'deleted', 'deleted', 'deleted']) counters.record(PRODUCT_VIEWS, id, 'ip:1');
    await counters.flush();
    const page = await service.popular('1h', 10);
    expect(page.items.map((item) => [item.product.id, item.views])).toEqual([
      ['new', 1],
      ['old', 1],
    ]);
    // Once forgotten (product.deleted), the deleted product no longer takes a candidate's place.
    await service.forget('deleted');
    expect((await service.popular('24h', 1)).items.map((item) => item.product.id)).toEqual(['new']);
  });

  it('answers 503 with Retry-After, never a 500, when the counters store fails', async () => {
    const failing = new MemoryCountersStore({ maxIds: 1000 });
    failing.top = () => Promise.reject(new Error('connection lost'));
    failing.totals = () => Promise.reject(new Error('connection lost'));
    const { service } = popularity(failing, [product('p', '2026-01-01T00:00:00.000Z')]);
    for (const read of [() => service.popular('24h', 10), () => service.stats('p')]) {
      const error = await read().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ProblemException);
      expect((error as ProblemException).getStatus()).toBe(503);
      expect((error as ProblemException).problem.headers).toEqual({ 'retry-after': '1' });
    }
  });
});
