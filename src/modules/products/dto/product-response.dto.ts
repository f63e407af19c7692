import { ApiProperty } from '@nestjs/swagger';
import type { ProductEntity } from '../product.entity.js';

/** A product as the API returns it: exactly these fields. */
export class ProductResponseDto {
  @ApiProperty({ format: 'uuid', readOnly: true }) id!: string;
  @ApiProperty() sku!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ type: 'integer' }) priceCents!: number;
  @ApiProperty() currency!: string;
  @ApiProperty({ type: 'integer' }) stock!: number;
  @ApiProperty() active!: boolean;
  @ApiProperty({ type: 'integer', minimum: 1, readOnly: true, description: 'Increases on every write; the ETag' })
  version!: number;
  @ApiProperty({ format: 'date-time', readOnly: true }) createdAt!: string;
  @ApiProperty({ format: 'date-time', readOnly: true }) updatedAt!: string;
}

export class ProductPageDto {
  @ApiProperty({ type: [ProductResponseDto] }) items!: ProductResponseDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export function toProductResponse(product: ProductEntity): ProductResponseDto {
  return {
    id: product.id,
    sku: product.sku,
    name: product.name,
    description: product.description ?? null,
    priceCents: product.priceCents,
    currency: product.currency,
    stock: product.stock,
    active: product.active,
    version: product.version,
    createdAt: product.createdAt.toISOString(),
    updatedAt: product.updatedAt.toISOString(),
  };
}
