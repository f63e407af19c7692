import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CacheModule } from '../../infra/cache/index.js';
import { OutboxModule } from '../../infra/outbox/index.js';
import { ThrottleStorageModule } from '../../infra/throttle/index.js';
import { userAggregate } from './user.events.js';
import { UserEntity } from './user.entity.js';
import { UsersController } from './users.controller.js';
import { UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';
import { WelcomeEmailQuota } from './welcome-email.quota.js';

@Module({
  imports: [
    TypeOrmModule.forFeature([UserEntity]),
    OutboxModule.forFeature(userAggregate),
    CacheModule.forFeature(userAggregate),
    ThrottleStorageModule,
  ],
  controllers: [UsersController],
  providers: [UsersRepository, UsersService, WelcomeEmailQuota],
  exports: [UsersService],
})
export class UsersModule {}
