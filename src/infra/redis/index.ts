// The public surface of infra/redis: import from here, not from its files.
export { ioredisConnection, type IoredisMode, type IoredisOptions } from './ioredis.js';
export { closeNodeRedisClient, createNodeRedisClient, type NodeRedisClientOptions } from './node-redis.js';
export { RedisConnections } from './redis-connections.js';
export {
  type BreakerState,
  type GuardedCall,
  isRefusedByBreaker,
  RedisGuard,
  type RedisGuardOptions,
} from './redis-guard.js';
export type { RedisTarget } from './redis-target.js';
export { RedisModule } from './redis.module.js';
