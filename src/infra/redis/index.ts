// The public surface of infra/redis: import from here, not from its files.
export { ioredisCluster, ioredisConnection, type IoredisMode, type IoredisOptions } from './ioredis.js';
export {
  closeNodeRedisClient,
  connectNodeRedisClient,
  createNodeRedisClient,
  isNodeRedisReady,
  type NodeRedisClient,
  type NodeRedisClientOptions,
  nodeRedisReadyWithin,
} from './node-redis.js';
export { RedisConnections } from './redis-connections.js';
export {
  type BreakerState,
  type GuardedCall,
  isRefusedByBreaker,
  RedisGuard,
  type RedisGuardOptions,
} from './redis-guard.js';
export { isClusterTarget, type RedisTarget } from './redis-target.js';
export { RedisModule } from './redis.module.js';
