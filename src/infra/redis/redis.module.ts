import { Global, Module } from '@nestjs/common';
import { RedisConnections } from './redis-connections.js';

/** Provides `RedisConnections` to every module (the stores register their clients, health pings them). */
@Global()
@Module({
  providers: [RedisConnections],
  exports: [RedisConnections],
})
export class RedisModule {}
