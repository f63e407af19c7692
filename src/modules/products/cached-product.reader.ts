import { HttpException, Injectable } from '@nestjs/common';
import { CacheService } from '../../infra/cache/index.js';
import { ProblemException } from '../../infra/http/index.js';
import type { ProductResponseDto } from './dto/product-response.dto.js';
import { productKey } from './products.cache.js';
import { ProductsService } from './products.service.js';

/** The policy of the get-by-id route's `@Cached({ key: productKeyOf, name: 'product' })`. */
const PRODUCT_POLICY = { name: 'product' };

/**
 * Reads a product the way GET /v1/products/{id} does: from its cache entry first, filling the same
 * entry (same key, same stored body, same 404 detail) on a miss. For other modules that show
 * products (popularity), so a hot product costs them no database read either.
 */
@Injectable()
export class CachedProductReader {
  constructor(
    private readonly cache: CacheService,
    private readonly products: ProductsService,
  ) {}

  /** The product, or undefined when it does not exist (or was deleted). */
  async find(id: string): Promise<ProductResponseDto | undefined> {
    const { record } = await this.cache.resolve(productKey(id), PRODUCT_POLICY, async () => {
      try {
        const product = await this.products.get(id);
        return { status: 200, body: JSON.stringify(product), version: product.version };
      } catch (error) {
        if (!(error instanceof HttpException) || error.getStatus() !== 404) throw error;
        return { status: 404, body: error instanceof ProblemException ? error.detail : error.message, version: 0 };
      }
    });
    return record.status === 200 ? (JSON.parse(record.body) as ProductResponseDto) : undefined;
  }
}
