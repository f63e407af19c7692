import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { type ThrottlerOptions, ThrottlerModule } from '@nestjs/throttler';
import { throttleConfig } from '../../config/index.js';
import { RateLimitStore } from './rate-limit.store.js';
import { ThrottleStorageModule } from './throttle-storage.module.js';
import { ReadRateLimitPort } from './read-rate-limit.port.js';
import { RateLimitGuard } from './throttle.guard.js';
import { skipUnlessWrite } from './tier-plans.js';

/** The tiers from config; a tier whose limit is 0 is off. */
export function tiersFrom(config: ConfigType<typeof throttleConfig>): ThrottlerOptions[] {
  const tiers: ThrottlerOptions[] = [{ name: 'default', limit: config.limit, ttl: config.windowMs }];
  if (config.burst.limit > 0) tiers.push({ name: 'burst', limit: config.burst.limit, ttl: config.burst.windowMs });
  if (config.write.limit > 0) {
    tiers.push({
      name: 'write',
      limit: config.write.limit,
      ttl: config.write.windowMs,
      skipIf: skipUnlessWrite,
    });
  }
  return tiers;
}

/**
 * Rate limiting for every `/v1` route, per client (API key name, else IP), shared across
 * instances through Redis. Import it after `AuthModule`: global guards run in registration order
 * and this one reads the API key name the auth guard sets. See docs/throttling.md.
 */
@Module({
  imports: [
    ThrottleStorageModule,
    ThrottlerModule.forRootAsync({
      imports: [ThrottleStorageModule],
      inject: [throttleConfig.KEY, RateLimitStore],
      useFactory: (config: ConfigType<typeof throttleConfig>, storage: RateLimitStore) => ({
        throttlers: tiersFrom(config),
        storage,
      }),
    }),
  ],
  providers: [RateLimitGuard, ReadRateLimitPort, { provide: APP_GUARD, useExisting: RateLimitGuard }],
  exports: [RateLimitGuard, ReadRateLimitPort],
})
export class ThrottleModule {}
