// The public surface of infra/throttle: import from here, not from its files.
export { clientKeyOf, ipKeyOf } from './client-key.js';
export { RateLimiterUnavailableError } from './failover-rate-limit.store.js';
export { rateLimitPolicy, rateLimitState, retryAfterSeconds } from './rate-limit.headers.js';
export { type ConsumeResult, RateLimitStore, type TierLimit } from './rate-limit.store.js';
export { ThrottleStorageModule } from './throttle-storage.module.js';
export { RateLimitGuard } from './throttle.guard.js';
// The seam infra/fast-path decides rate limits through, before the Nest pipeline.
export { type ReadRateLimit, ReadRateLimitPort } from './read-rate-limit.port.js';
export { ThrottleModule } from './throttle.module.js';
