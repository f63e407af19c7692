// The public surface of infra/outbox: import from here, not from its files.
export { DISPATCH_EVENT, type DispatchEventJob, EVENTS_QUEUE } from './dispatch-event.job.js';
export { type Aggregate, type AggregateState, type EventKind, eventType } from './aggregate.js';
export { DeclaredAggregates } from './declared-aggregates.js';
export type { DomainEvent } from './domain-event.js';
export { type DomainEventSubscriber, EventSubscriber, type FanOutJob } from './event-subscriber.js';
export { OutboxEvents, type StoredEvent } from './outbox-events.js';
export { OutboxModule } from './outbox.module.js';
export {
  type AfterCommitListener,
  type AggregateChange,
  type CommittedTransaction,
  type TransactionParticipant,
  type TransactionScope,
  UnitOfWork,
} from './unit-of-work.js';
