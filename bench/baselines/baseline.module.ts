import { createKeyv } from '@keyv/redis';
import { CacheModule } from '@nestjs/cache-manager';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Product } from './product.entity.js';
import { ProductsController } from './products.controller.js';

/**
 * The stock alternative to the service: @nestjs/cache-manager with a Redis store through
 * @keyv/redis (the NestJS caching docs' recipe) and TypeORM, nothing else.
 */
@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: [Product],
      synchronize: false,
    }),
    TypeOrmModule.forFeature([Product]),
    CacheModule.registerAsync({
      isGlobal: true,
      useFactory: () => ({
        stores: [createKeyv(process.env.REDIS_URL, { namespace: process.env.CACHE_NAMESPACE })],
        ttl: 60_000,
      }),
    }),
  ],
  controllers: [ProductsController],
})
export class BaselineModule {}
