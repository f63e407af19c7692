import { Module } from '@nestjs/common';
import { AppConfigModule, cacheConfig, redisConfig } from './config/index.js';
import { CacheModule, cacheOptionsFromConfig } from './infra/cache/index.js';
import { AdminModule } from './infra/admin/index.js';
import { AuthModule } from './infra/auth/index.js';
import { FastPathModule } from './infra/fast-path/index.js';
import { DatabaseModule } from './infra/database/index.js';
import { HealthModule } from './infra/health/index.js';
import { HttpInfraModule } from './infra/http/index.js';
import { IdempotencyModule } from './infra/idempotency/index.js';
import { LoggingModule } from './infra/logging/index.js';
import { MetricsModule } from './infra/metrics/index.js';
import { OutboxModule } from './infra/outbox/index.js';
import { QueueModule } from './infra/queue/index.js';
import { RedisModule } from './infra/redis/index.js';
import { ThrottleModule } from './infra/throttle/index.js';
import { NotificationsModule } from './modules/notifications/notifications.module.js';
import { PopularityModule } from './modules/popularity/popularity.module.js';
import { ProductsModule } from './modules/products/products.module.js';
import { UsersModule } from './modules/users/users.module.js';

/** The composition root: infrastructure first, then one line per feature module. */
@Module({
  imports: [
    AppConfigModule,
    LoggingModule,
    HttpInfraModule,
    MetricsModule,
    DatabaseModule,
    RedisModule,
    IdempotencyModule,
    CacheModule.forRootAsync({ inject: [cacheConfig.KEY, redisConfig.KEY], useFactory: cacheOptionsFromConfig }),
    AuthModule,
    ThrottleModule,
    FastPathModule,
    HealthModule,
    QueueModule,
    OutboxModule,
    AdminModule,
    // Feature modules
    UsersModule,
    ProductsModule,
    NotificationsModule,
    PopularityModule,
  ],
})
export class AppModule {}
