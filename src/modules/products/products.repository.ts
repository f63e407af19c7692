import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { VersionedRepository } from '../../infra/database/index.js';
import { ProductEntity } from './product.entity.js';

@Injectable()
export class ProductsRepository extends VersionedRepository<ProductEntity> {
  constructor(@InjectDataSource() dataSource: DataSource) {
    super(dataSource, ProductEntity);
  }
}
