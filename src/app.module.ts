import { Module } from '@nestjs/common';
import { AppConfigModule } from './config/app-config.module.js';
import { AuthModule } from './infra/auth/auth.module.js';
import { DatabaseModule } from './infra/database/database.module.js';
import { HealthModule } from './infra/health/health.module.js';
import { HttpInfraModule } from './infra/http/http-infra.module.js';
import { MetricsModule } from './infra/metrics/metrics.module.js';
import { ProductsModule } from './modules/products/products.module.js';
import { UsersModule } from './modules/users/users.module.js';

/** The composition root: infrastructure first, then one line per feature module. */
@Module({
  imports: [
    AppConfigModule,
    HttpInfraModule,
    MetricsModule,
    DatabaseModule,
    AuthModule,
    HealthModule,
    // Feature modules
    UsersModule,
    ProductsModule,
  ],
})
export class AppModule {}
