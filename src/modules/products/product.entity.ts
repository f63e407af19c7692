import { Column, Entity, Index } from 'typeorm';
import { VersionedEntity } from '../../infra/database/index.js';

/** The case-insensitive unique index on `sku` (created by the initial migration). */
export const SKU_UNIQUE_INDEX = 'products_sku_lower_uq';

@Entity({ name: 'products' })
// Unique on lower(sku): created by the migration, which TypeORM cannot express, hence synchronize: false.
@Index(SKU_UNIQUE_INDEX, { synchronize: false })
@Index('products_created_at_id_idx', { synchronize: false })
@Index('products_active_created_at_id_idx', { synchronize: false })
export class ProductEntity extends VersionedEntity {
  @Column({ type: 'varchar', length: 64 })
  sku!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 2000, nullable: true })
  description!: string | null;

  @Column({ name: 'price_cents', type: 'integer' })
  priceCents!: number;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ type: 'integer', default: 0 })
  stock!: number;

  @Column({ type: 'boolean', default: true })
  active!: boolean;
}
