import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A domain event, written in the same transaction as the change it describes (transactional outbox). */
@Entity({ name: 'outbox_events' })
@Index('outbox_events_undispatched_idx', ['occurredAt'], { where: 'dispatched_at IS NULL' })
export class OutboxEventEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  type!: string;

  @Column({ name: 'aggregate_type', type: 'varchar', length: 100 })
  aggregateType!: string;

  @Column({ name: 'aggregate_id', type: 'uuid' })
  aggregateId!: string;

  @Column({ type: 'jsonb' })
  payload!: unknown;

  @Column({ name: 'occurred_at', type: 'timestamptz', precision: 3 })
  occurredAt!: Date;

  /** The W3C `traceparent` of the transaction that wrote the event; null when it was not traced. */
  @Column({ name: 'trace_parent', type: 'varchar', length: 55, nullable: true })
  traceParent!: string | null;

  @Column({ name: 'trace_state', type: 'varchar', length: 512, nullable: true })
  traceState!: string | null;

  @Column({ name: 'dispatched_at', type: 'timestamptz', precision: 3, nullable: true })
  dispatchedAt!: Date | null;
}
