import { Logger, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { countersConfig } from '../../config/index.js';
import { RedisConnections, RedisModule } from '../redis/index.js';
import { CountersService, type CountersOptions } from './counters.service.js';
import { CountersStore } from './counters.store.js';
import { COUNTERS_OPTIONS } from './counters.tokens.js';
import { MemoryCountersStore } from './memory-counters.store.js';
import { RedisCountersStore } from './redis-counters.store.js';

/** How long start-up waits for Redis; flushes are retried until it answers, reads answer 503. */
const CONNECT_WAIT_MS = 2000;

/**
 * Builds the store the config names (`COUNTERS_STORE`, default redis when `REDIS_URL` is set).
 * An unknown store stops start-up: there is no silent fallback.
 */
export async function createCountersStore(
  counters: ConfigType<typeof countersConfig>,
  connections: RedisConnections,
): Promise<CountersStore> {
  switch (counters.store) {
    case 'memory':
      return new MemoryCountersStore({ maxIds: counters.memoryMaxIds });
    case 'redis': {
      // The config namespace refuses `redis` without REDIS_URL.
      const store = new RedisCountersStore({ url: connections.target!.url, keyPrefix: connections.keyPrefix });
      connections.hold('counters', store.client);
      if (!(await store.connect(CONNECT_WAIT_MS))) {
        new Logger('Counters').warn('Redis did not answer at start-up; counts are kept in memory until it does');
      }
      return store;
    }
    default:
      throw new Error(`Unknown counters store "${counters.store as string}": expected memory or redis`);
  }
}

/**
 * Time-bucketed counters (sorted sets and HyperLogLogs in Redis, or process memory) behind
 * `CountersService`. Feature code uses the service only; stores and Redis stay in here.
 */
@Module({
  imports: [RedisModule],
  providers: [
    {
      provide: CountersStore,
      inject: [countersConfig.KEY, RedisConnections],
      useFactory: async (counters: ConfigType<typeof countersConfig>, connections: RedisConnections) => {
        const store = await createCountersStore(counters, connections);
        new Logger('Counters').log(`Counters store: ${store.kind}`);
        return store;
      },
    },
    {
      provide: COUNTERS_OPTIONS,
      inject: [countersConfig.KEY],
      useFactory: (counters: ConfigType<typeof countersConfig>): CountersOptions => ({
        flushIntervalMs: counters.flushIntervalMs,
        maxMembers: counters.maxMembersPerFlush,
        maxIds: counters.maxIdsPerFlush,
      }),
    },
    CountersService,
  ],
  exports: [CountersService],
})
export class CountersModule {}
