import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottleStorageModule } from '../throttle/index.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { ApiKeys } from './api-keys.js';
import { AuthFailureLimiter } from './auth-failure-limiter.js';

@Module({
  // The rate limiter's store (one per process, shared with ThrottleModule) counts failed authentication.
  imports: [ThrottleStorageModule],
  providers: [ApiKeys, ApiKeyGuard, AuthFailureLimiter, { provide: APP_GUARD, useExisting: ApiKeyGuard }],
  exports: [ApiKeys, ApiKeyGuard, AuthFailureLimiter],
})
export class AuthModule {}
