import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CacheModule } from '../../infra/cache/index.js';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { UserEntity } from './user.entity.js';
import { userWriteThrough } from './users.cache.js';
import { UsersController } from './users.controller.js';
import { UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([UserEntity]), CacheModule.forFeature(userWriteThrough), NotificationsModule],
  controllers: [UsersController],
  providers: [UsersRepository, UsersService],
  exports: [UsersService],
})
export class UsersModule {}
