import { type DynamicModule, Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { provideJobs } from '../queue/index.js';
import { DISPATCH_EVENT } from './dispatch-event.job.js';
import type { Aggregate } from './aggregate.js';
import { DeclaredAggregates } from './declared-aggregates.js';
import { EventDispatchHandler } from './event-dispatch.handler.js';
import { OutboxEventEntity } from './outbox-event.entity.js';
import { OutboxEvents } from './outbox-events.js';
import { OutboxRelay } from './outbox.relay.js';
import { OutboxSweeper } from './outbox.sweeper.js';
import { UnitOfWork } from './unit-of-work.js';

/** Carries one feature's aggregate declarations into the global `DeclaredAggregates`. */
@Module({})
export class OutboxFeatureModule {}

/**
 * The transactional outbox: events written with the data (UnitOfWork, global so that every feature
 * can inject it) are relayed to the queue after commit, swept up when the relay missed them, fanned
 * out to subscribers by the `dispatch-event` job, and pruned after their retention. Needs
 * QueueModule and DatabaseModule. A feature module declares the aggregates it emits with
 * `OutboxModule.forFeature(...aggregates)`.
 */
@Global()
@Module({
  imports: [DiscoveryModule, TypeOrmModule.forFeature([OutboxEventEntity])],
  providers: [
    UnitOfWork,
    DeclaredAggregates,
    OutboxRelay,
    OutboxSweeper,
    provideJobs(DISPATCH_EVENT),
    EventDispatchHandler,
    OutboxEvents,
  ],
  exports: [UnitOfWork, DeclaredAggregates, OutboxRelay, OutboxSweeper, OutboxEvents],
})
export class OutboxModule {
  /** Declares the aggregates a feature emits (`tx.emit` refuses the others). */
  static forFeature(...aggregates: Aggregate[]): DynamicModule {
    const token = Symbol(`OutboxAggregates(${aggregates.map((a) => a.type).join(',')})`);
    return {
      // A module of its own: the dynamic form of OutboxModule would build a second unit of work.
      module: OutboxFeatureModule,
      providers: [
        {
          provide: token,
          inject: [DeclaredAggregates],
          useFactory: (declared: DeclaredAggregates) => declared.add(aggregates),
        },
      ],
    };
  }
}
