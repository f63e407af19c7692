import type { CachedAggregate } from '../../infra/cache/index.js';
import { eventType } from '../../infra/outbox/index.js';
import type { ProductResponseDto } from './dto/product-response.dto.js';
import { PRODUCTS_TAG, productKey } from './products.cache.js';

/**
 * The product aggregate, the one descriptor its writes emit (`tx.emit(productAggregate, kind,
 * product)`) and the module declares (`OutboxModule.forFeature`, `CacheModule.forFeature`). Its
 * events carry the product as the API returns it; after each commit the cache stores that state
 * (or a tombstone) under its key, and the lists are invalidated.
 */
export const productAggregate: CachedAggregate<ProductResponseDto, 'product'> = {
  type: 'product',
  cache: { key: productKey, tags: [PRODUCTS_TAG], notFound: 'Product not found' },
};

/** The event types products emit, as webhooks and subscribers see them. */
export const ProductEvent = {
  Created: eventType(productAggregate, 'created'),
  Updated: eventType(productAggregate, 'updated'),
  Deleted: eventType(productAggregate, 'deleted'),
} as const;
export type ProductEvent = (typeof ProductEvent)[keyof typeof ProductEvent];
