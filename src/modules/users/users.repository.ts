import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { VersionedRepository } from '../../infra/database/index.js';
import { UserEntity } from './user.entity.js';

@Injectable()
export class UsersRepository extends VersionedRepository<UserEntity> {
  constructor(@InjectDataSource() dataSource: DataSource) {
    super(dataSource, UserEntity);
  }
}
