import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { RateLimitGuard, ThrottleModule, ThrottleStorageModule } from '../throttle/index.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { ApiKeys } from './api-keys.js';
import { AuthFailureLimiter } from './auth-failure-limiter.js';

/**
 * API keys for writes under /v1 (`ApiKeyGuard`), and the global guards of /v1 in the order they
 * must run: global guards run in registration order, and the rate limit counts by the key name
 * `ApiKeyGuard` sets. Registered here, one after the other, that order holds whichever of
 * `AuthModule` and `ThrottleModule` an app imports first.
 */
@Module({
  // The rate limiter's store (one per process, shared with ThrottleModule) counts failed authentication.
  imports: [ThrottleStorageModule, ThrottleModule],
  providers: [
    ApiKeys,
    ApiKeyGuard,
    AuthFailureLimiter,
    { provide: APP_GUARD, useExisting: ApiKeyGuard },
    { provide: APP_GUARD, useExisting: RateLimitGuard },
  ],
  exports: [ApiKeys, ApiKeyGuard, AuthFailureLimiter],
})
export class AuthModule {}
