import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { provideJobs } from '../queue/index.js';
import { DISPATCH_EVENT } from './dispatch-event.job.js';
import { EventDispatchHandler } from './event-dispatch.handler.js';
import { OutboxEventEntity } from './outbox-event.entity.js';
import { OutboxEvents } from './outbox-events.js';
import { OutboxRelay } from './outbox.relay.js';
import { OutboxSweeper } from './outbox.sweeper.js';
import { UnitOfWork } from './unit-of-work.js';

/**
 * The transactional outbox: events written with the data (UnitOfWork, global so that every feature
 * can inject it) are relayed to the queue after commit, swept up when the relay missed them, fanned
 * out to subscribers by the `dispatch-event` job, and pruned after their retention. Needs
 * QueueModule and DatabaseModule.
 */
@Global()
@Module({
  imports: [DiscoveryModule, TypeOrmModule.forFeature([OutboxEventEntity])],
  providers: [UnitOfWork, OutboxRelay, OutboxSweeper, provideJobs(DISPATCH_EVENT), EventDispatchHandler, OutboxEvents],
  exports: [UnitOfWork, OutboxRelay, OutboxSweeper, OutboxEvents],
})
export class OutboxModule {}
