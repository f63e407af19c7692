import { Injectable } from '@nestjs/common';
import type { Page } from '../../infra/database/index.js';
import {
  preconditionFailed,
  DEFAULT_PAGE_SIZE,
  entityOrFail,
  notFound,
  rethrowWriteError,
} from '../../infra/http/index.js';
import { type TransactionScope, UnitOfWork } from '../../infra/outbox/index.js';
import type { CreateProductDto } from './dto/create-product.dto.js';
import type { ListProductsQueryDto } from './dto/list-products-query.dto.js';
import { type ProductResponseDto, toProductResponse } from './dto/product-response.dto.js';
import type { UpdateProductDto } from './dto/update-product.dto.js';
import { productAggregate } from './product.events.js';
import { SKU_UNIQUE_INDEX } from './product.entity.js';
import { ProductsRepository } from './products.repository.js';

const CONSTRAINTS = { conflicts: { [SKU_UNIQUE_INDEX]: 'sku' } };

@Injectable()
export class ProductsService {
  constructor(
    private readonly products: ProductsRepository,
    private readonly unitOfWork: UnitOfWork,
  ) {}

  async get(id: string): Promise<ProductResponseDto> {
    const product = await this.products.findById(id);
    if (!product) throw notFound('Product');
    return toProductResponse(product);
  }

  async list(query: ListProductsQueryDto): Promise<Page<ProductResponseDto>> {
    const page = await this.products.page({
      limit: query.limit ?? DEFAULT_PAGE_SIZE,
      cursor: query.cursor,
      where: { active: query.active },
    });
    return { items: page.items.map(toProductResponse), nextCursor: page.nextCursor };
  }

  async create(input: CreateProductDto): Promise<ProductResponseDto> {
    try {
      return await this.unitOfWork.run((tx) => this.insertWithEvent(tx, input));
    } catch (error) {
      rethrowWriteError(error, 'a product', CONSTRAINTS);
    }
  }

  /** Inserts one product and records its `product.created` event, inside the caller's transaction (create, bulk import). */
  async insertWithEvent(tx: TransactionScope, input: CreateProductDto): Promise<ProductResponseDto> {
    const product = toProductResponse(
      await this.products.insert(tx.manager, { ...input, description: input.description ?? null }),
    );
    tx.emit(productAggregate, 'created', product);
    return product;
  }

  /** `expectedVersions` comes from If-Match: the update applies only to one of those versions. */
  async update(id: string, changes: UpdateProductDto, expectedVersions?: number[]): Promise<ProductResponseDto> {
    if (Object.keys(changes).length === 0) return this.unchanged(id, expectedVersions);
    try {
      return await this.unitOfWork.run(async (tx) => {
        const outcome = await this.products.update(tx.manager, id, changes, expectedVersions);
        const product = toProductResponse(entityOrFail(outcome, 'Product'));
        tx.emit(productAggregate, 'updated', product);
        return product;
      });
    } catch (error) {
      rethrowWriteError(error, 'a product', CONSTRAINTS);
    }
  }

  async remove(id: string, expectedVersions?: number[]): Promise<void> {
    await this.unitOfWork.run(async (tx) => {
      const outcome = await this.products.delete(tx.manager, id, expectedVersions);
      tx.emit(productAggregate, 'deleted', toProductResponse(entityOrFail(outcome, 'Product')));
    });
  }

  /** An empty PATCH changes nothing (no new version, no event) but still honours If-Match. */
  private async unchanged(id: string, expectedVersions?: number[]): Promise<ProductResponseDto> {
    const product = await this.get(id);
    if (expectedVersions && !expectedVersions.includes(product.version)) throw preconditionFailed();
    return product;
  }
}
