import { Global, Inject, Module, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { redisConfig } from '../../config/index.js';
import { HealthIndicatorRegistry } from './health-indicator.registry.js';
import { HealthController } from './health.controller.js';
import { pingRedis } from './redis-ping.js';

const REDIS_PING_TIMEOUT_MS = 500;

/**
 * `/health/live` and `/health/ready`. Global so any module can add a readiness check through
 * `HealthIndicatorRegistry`; this module registers the ones it owns: the database, and Redis
 * when REDIS_URL is configured.
 */
@Global()
@Module({
  controllers: [HealthController],
  providers: [HealthIndicatorRegistry],
  exports: [HealthIndicatorRegistry],
})
export class HealthModule implements OnModuleInit {
  constructor(
    private readonly registry: HealthIndicatorRegistry,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(redisConfig.KEY) private readonly redis: ConfigType<typeof redisConfig>,
  ) {}

  onModuleInit(): void {
    this.registry.register('database', () => this.dataSource.query('SELECT 1'));
    const url = this.redis.url;
    if (url !== undefined) {
      this.registry.register('redis', (signal) => pingRedis(url, { timeoutMs: REDIS_PING_TIMEOUT_MS, signal }));
    }
  }
}
