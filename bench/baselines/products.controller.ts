import { CacheInterceptor } from '@nestjs/cache-manager';
import { Body, Controller, Get, NotFoundException, Param, ParseUUIDPipe, Patch, UseInterceptors } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Product } from './product.entity.js';
import { UpdateProductDto } from './update-product.dto.js';

/**
 * The same routes as the service, written as the NestJS docs show: `CacheInterceptor` caches GET
 * responses by URL; PATCH is a plain find-merge-save (no outbox, no cache write-through).
 */
@Controller({ path: 'products', version: '1' })
@UseInterceptors(CacheInterceptor)
export class ProductsController {
  constructor(@InjectRepository(Product) private readonly products: Repository<Product>) {}

  @Get(':id')
  async findOne(@Param('id', new ParseUUIDPipe()) id: string): Promise<Product> {
    const product = await this.products.findOneBy({ id });
    if (!product) throw new NotFoundException();
    return product;
  }

  @Patch(':id')
  async update(@Param('id', new ParseUUIDPipe()) id: string, @Body() changes: UpdateProductDto): Promise<Product> {
    const product = await this.products.findOneBy({ id });
    if (!product) throw new NotFoundException();
    return this.products.save(this.products.merge(product, changes));
  }
}
