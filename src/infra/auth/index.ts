// The public surface of infra/auth: import from here, not from its files.
export { ApiKeyGuard } from './api-key.guard.js';
export { ApiKeys } from './api-keys.js';
export { AuthFailureLimiter, type AuthRefusal } from './auth-failure-limiter.js';
export { AuthModule } from './auth.module.js';
export { bearerTokenOf, secretDigest } from './credentials.js';
