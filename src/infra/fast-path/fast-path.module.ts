import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { AuthModule } from '../auth/index.js';
import { ThrottleModule } from '../throttle/index.js';
import { CachedReadFastPath } from './cached-read.fast-path.js';

/**
 * Cache hits of `@Cached` GET routes answered before the Nest pipeline (see `CachedReadFastPath`),
 * through the cache's `CachedReadPort` (the cache module is global) and the throttle's
 * `ReadRateLimitPort`. Where it is imported does not matter: its guard only learns, never refuses.
 */
@Module({
  imports: [AuthModule, ThrottleModule, DiscoveryModule],
  providers: [CachedReadFastPath, { provide: APP_GUARD, useExisting: CachedReadFastPath }],
})
export class FastPathModule {}
