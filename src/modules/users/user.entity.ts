import { Column, Entity, Index } from 'typeorm';
import { VersionedEntity } from '../../infra/database/index.js';

@Entity({ name: 'users' })
// Unique on lower(email): created by the migration, which TypeORM cannot express, hence synchronize: false.
@Index('users_email_lower_uq', { synchronize: false })
@Index('users_created_at_id_idx', { synchronize: false })
export class UserEntity extends VersionedEntity {
  @Column({ type: 'varchar', length: 254 })
  email!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;
}
