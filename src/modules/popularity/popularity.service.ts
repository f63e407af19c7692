import { Injectable } from '@nestjs/common';
import { CountersService } from '../../infra/counters/index.js';
import { notFound, ProblemException } from '../../infra/http/index.js';
import { CachedProductReader } from '../products/cached-product.reader.js';
import type {
  PopularProductDto,
  PopularProductsDto,
  ProductStatsDto,
  WindowCountsDto,
} from './dto/popularity-response.dto.js';
import { POPULARITY_WINDOWS, type PopularityWindow, PRODUCT_VIEWS, WINDOW_NAMES } from './product-views.js';

/** Candidates read per item asked for: room for deleted products and for ties at the boundary. */
const CANDIDATES_PER_ITEM = 2;

@Injectable()
export class PopularityService {
  constructor(
    private readonly counters: CountersService,
    private readonly products: CachedProductReader,
  ) {}

  /** The most viewed products of the window, most viewed first, ties newest first; deleted ones never. */
  async popular(window: PopularityWindow, limit: number): Promise<PopularProductsDto> {
    const ranked = await counted(() =>
      this.counters.top(PRODUCT_VIEWS, POPULARITY_WINDOWS[window], limit * CANDIDATES_PER_ITEM),
    );
    // Through the products' cache: a deleted product reads as a tombstone (404) and drops out.
    const products = await Promise.all(ranked.map(({ member }) => this.products.find(member)));
    const items: PopularProductDto[] = [];
    ranked.forEach(({ count }, i) => {
      const product = products[i];
      if (product !== undefined) items.push({ product, views: count });
    });
    items.sort(
      (a, b) =>
        b.views - a.views || compare(b.product.createdAt, a.product.createdAt) || compare(b.product.id, a.product.id),
    );
    return { window, items: items.slice(0, limit) };
  }

  /** Views and unique viewers per window; 404 for a product that does not exist (or was deleted). */
  async stats(id: string): Promise<ProductStatsDto> {
    const product = await this.products.find(id);
    if (product === undefined) throw notFound('Product');
    const totals = await counted(() =>
      this.counters.totals(
        PRODUCT_VIEWS,
        product.id,
        WINDOW_NAMES.map((name) => POPULARITY_WINDOWS[name]),
      ),
    );
    const views = {} as WindowCountsDto;
    const uniqueViewers = {} as WindowCountsDto;
    WINDOW_NAMES.forEach((name, i) => {
      views[name] = totals[i]!.count;
      uniqueViewers[name] = totals[i]!.distinct;
    });
    return { id: product.id, views, uniqueViewers };
  }

  /** Forgets a deleted product's views, so it stops taking a place among the candidates. */
  forget(id: string): Promise<void> {
    return this.counters.remove(PRODUCT_VIEWS, id);
  }
}

/** A counters store that fails (Redis away, a timeout) is a 503 the client may retry, never a 500. */
async function counted<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new ProblemException(503, 'View counts are unavailable; try again shortly', {
      headers: { 'retry-after': '1' },
      cause: error,
    });
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
