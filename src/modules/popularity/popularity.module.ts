import { Module } from '@nestjs/common';
import { CountersModule } from '../../infra/counters/index.js';
import { ProductsModule } from '../products/products.module.js';
import { provideJobs } from '../../infra/queue/index.js';
import {
  FORGET_PRODUCT_VIEWS,
  ForgetProductViewsHandler,
  ForgetProductViewsSubscriber,
} from './forget-product-views.job.js';
import { PopularityController } from './popularity.controller.js';
import { PopularityService } from './popularity.service.js';
import { ProductViewsHook } from './product-views.hook.js';

/**
 * Most-viewed products and unique viewers (API.md, Popularity; docs/popularity.md): every
 * GET /v1/products/{id} answered 200 or 304 is counted in memory and flushed to the counters
 * store once a second; `product.deleted` forgets the product's views.
 * A module of its own, not part of products: products knows nothing of it, and removing this
 * folder and its line in app.module.ts removes the feature.
 */
@Module({
  imports: [CountersModule, ProductsModule],
  controllers: [PopularityController],
  providers: [
    PopularityService,
    ProductViewsHook,
    provideJobs(FORGET_PRODUCT_VIEWS),
    ForgetProductViewsSubscriber,
    ForgetProductViewsHandler,
  ],
})
export class PopularityModule {}
