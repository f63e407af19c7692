import type { FastifyRequest } from 'fastify';
import { canonicalQuery, pageKeyFields } from '../../infra/cache/index.js';
import { isUuid } from '../../infra/http/index.js';
import type { ListProductsQueryDto } from './dto/list-products-query.dto.js';

/** Every list page of products carries this tag; any product write invalidates them all. */
export const PRODUCTS_TAG = 'products';

/** One product's entry. Ids are lower-cased as the UUID pipe does, so `ABC…` and `abc…` share it. */
export const productKey = (id: string): string => `product:${id.toLowerCase()}`;

/** The get-by-id route's key; undefined for an id the UUID pipe refuses (that 400 never consults the cache). */
export const productKeyOf = (request: FastifyRequest): string | undefined => {
  const { id } = request.params as { id: string };
  return isUuid(id) ? productKey(id) : undefined;
};

/**
 * A list page's key, from the validated query (`@Cached({ query: ListProductsQueryDto })`): defaults filled,
 * fields sorted, the cursor re-encoded, so every spelling of one query is one entry.
 */
export const productListKeyOf = (_request: FastifyRequest, query: ListProductsQueryDto): string | undefined => {
  const page = pageKeyFields(query);
  return page === undefined ? undefined : `products:list:${canonicalQuery({ ...page, active: query.active })}`;
};
