// The public surface of infra/idempotency for feature modules: import from here, not from its files.
export * from './idempotent.decorator.js';
export { IdempotencyModule } from './idempotency.module.js';
export { IdempotencyStore } from './idempotency.store.js';
export { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from './idempotency-key.js';
