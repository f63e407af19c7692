import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EventDispatchHandler } from './event-dispatch.handler.js';
import { OutboxRelay } from './outbox.relay.js';
import { OutboxSweeper } from './outbox.sweeper.js';

/**
 * The transactional outbox's second half: events written with the data (UnitOfWork) are relayed
 * to the queue after commit, swept up when the relay missed them, fanned out to subscribers by the
 * `dispatch-event` job, and pruned after their retention. Needs QueueModule and DatabaseModule.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [OutboxRelay, OutboxSweeper, EventDispatchHandler],
  exports: [OutboxRelay, OutboxSweeper],
})
export class OutboxModule {}
