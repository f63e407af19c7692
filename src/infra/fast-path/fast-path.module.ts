import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthModule } from '../auth/index.js';
import { ThrottleModule } from '../throttle/index.js';
import { CachedReadFastPath } from './cached-read.fast-path.js';

/**
 * Cache hits of `@Cached` GET routes answered before the Nest pipeline (see `CachedReadFastPath`).
 * Import it after `AuthModule` and `ThrottleModule`: its guard must be the last global guard.
 */
@Module({
  imports: [AuthModule, ThrottleModule],
  providers: [CachedReadFastPath, { provide: APP_GUARD, useExisting: CachedReadFastPath }],
})
export class FastPathModule {}
