import { Global, Module, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RedisConnections, RedisModule } from '../redis/index.js';
import { HealthIndicatorRegistry } from './health-indicator.registry.js';
import { HealthController } from './health.controller.js';

const REDIS_PING_TIMEOUT_MS = 500;

/**
 * `/health/live` and `/health/ready`. Global so any module can add a readiness check through
 * `HealthIndicatorRegistry`; this module registers the ones it owns: the database, and Redis
 * when REDIS_URL is configured (a PING on each connection the app's stores hold).
 */
@Global()
@Module({
  imports: [RedisModule],
  controllers: [HealthController],
  providers: [HealthIndicatorRegistry],
  exports: [HealthIndicatorRegistry],
})
export class HealthModule implements OnModuleInit {
  constructor(
    private readonly registry: HealthIndicatorRegistry,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly redis: RedisConnections,
  ) {}

  onModuleInit(): void {
    this.registry.register('database', () => this.dataSource.query('SELECT 1'));
    if (this.redis.target !== undefined) {
      this.registry.register('redis', (signal) => this.redis.ping(REDIS_PING_TIMEOUT_MS, signal));
    }
  }
}
