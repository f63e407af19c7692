import type { FastifyRequest } from 'fastify';
import { queryOf, type WriteThroughRule } from '../../infra/cache/index.js';

/** Every list page of products carries this tag; any product write invalidates them all. */
export const PRODUCTS_TAG = 'products';

/** One product's entry. Ids are lower-cased as the UUID pipe does, so `ABC…` and `abc…` share it. */
export const productKey = (id: string): string => `product:${id.toLowerCase()}`;

export const productKeyOf = (request: FastifyRequest): string => productKey((request.params as { id: string }).id);

export const productListKeyOf = (request: FastifyRequest): string => `products:list:${queryOf(request)}`;

/** After each commit: the product's new state (or a tombstone) under its key, and the lists invalidated. */
export const productWriteThrough: WriteThroughRule = {
  aggregateType: 'product',
  key: productKey,
  tags: [PRODUCTS_TAG],
  notFound: 'Product not found',
};
