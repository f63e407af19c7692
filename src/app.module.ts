import { Module } from '@nestjs/common';
import { AppConfigModule } from './config/app-config.module.js';
import { cacheConfig, redisConfig } from './config/index.js';
import { CacheModule, cacheOptionsFromConfig } from './infra/cache/index.js';
import { AdminModule } from './infra/admin/admin.module.js';
import { AuthModule } from './infra/auth/auth.module.js';
import { FastPathModule } from './infra/fast-path/fast-path.module.js';
import { DatabaseModule } from './infra/database/database.module.js';
import { HealthModule } from './infra/health/health.module.js';
import { HttpInfraModule } from './infra/http/http-infra.module.js';
import { IdempotencyModule } from './infra/idempotency/index.js';
import { LoggingModule } from './infra/logging/logging.module.js';
import { MetricsModule } from './infra/metrics/metrics.module.js';
import { OutboxModule } from './infra/outbox/outbox.module.js';
import { QueueModule } from './infra/queue/queue.module.js';
import { ThrottleModule } from './infra/throttle/throttle.module.js';
import { NotificationsModule } from './modules/notifications/notifications.module.js';
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
  ],
})
export class AppModule {}
