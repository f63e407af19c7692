import { Global, Module } from '@nestjs/common';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyPruner } from './idempotency.pruner.js';
import { IdempotencyStore } from './idempotency.store.js';

/**
 * `Idempotency-Key` on writes: the interceptor routes declare with `@Idempotent()`, the
 * `idempotency_keys` store and its prune. Needs DatabaseModule (UnitOfWork) and MetricsModule.
 * Global, as the interceptor is instantiated in each feature module that declares a route with it.
 */
@Global()
@Module({
  providers: [IdempotencyStore, IdempotencyInterceptor, IdempotencyPruner],
  exports: [IdempotencyStore, IdempotencyInterceptor],
})
export class IdempotencyModule {}
