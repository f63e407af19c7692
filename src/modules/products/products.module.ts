import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CacheModule } from '../../infra/cache/index.js';
import { provideJobs } from '../../infra/queue/index.js';
import { OutboxModule } from '../../infra/outbox/index.js';
import { CachedProductReader } from './cached-product.reader.js';
import { productAggregate } from './product.events.js';
import { ProductEntity } from './product.entity.js';
import { ProductImportController } from './product-import.controller.js';
import { IMPORT_PRODUCTS } from './product-import.job.js';
import { ProductImportProcessor } from './product-import.processor.js';
import { ProductImportService } from './product-import.service.js';
import { ProductsController } from './products.controller.js';
import { ProductsRepository } from './products.repository.js';
import { ProductsService } from './products.service.js';

@Module({
  imports: [
    TypeOrmModule.forFeature([ProductEntity]),
    OutboxModule.forFeature(productAggregate),
    CacheModule.forFeature(productAggregate),
  ],
  controllers: [ProductsController, ProductImportController],
  providers: [
    ProductsRepository,
    ProductsService,
    ProductImportService,
    provideJobs(IMPORT_PRODUCTS),
    ProductImportProcessor,
    CachedProductReader,
  ],
  exports: [ProductsService, CachedProductReader],
})
export class ProductsModule {}
