/** The domain events products emit; their payload is the product as the API returns it. */
export const ProductEvent = {
  Created: 'product.created',
  Updated: 'product.updated',
  Deleted: 'product.deleted',
} as const;
export type ProductEvent = (typeof ProductEvent)[keyof typeof ProductEvent];
