import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { WebhookPayload } from './webhook-signer.js';

/** A webhook delivery that failed its last attempt; replayable from the admin API. */
@Entity({ name: 'webhook_dead_letters' })
export class DeadLetterEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'event_id', type: 'uuid' })
  eventId!: string;

  @Column({ type: 'varchar', length: 100 })
  type!: string;

  @Column({ type: 'text' })
  url!: string;

  /** The event, for queries; `jsonb` reorders its keys, so a replay sends `body` instead. */
  @Column({ type: 'jsonb' })
  payload!: WebhookPayload;

  /** The exact body the delivery sent; null on rows dead-lettered before it was kept. */
  @Column({ type: 'text', nullable: true })
  body!: string | null;

  @Column({ type: 'integer' })
  attempts!: number;

  @Column({ name: 'last_error', type: 'text' })
  lastError!: string;

  @Column({ name: 'failed_at', type: 'timestamptz', precision: 3 })
  failedAt!: Date;

  @Column({ name: 'replayed_at', type: 'timestamptz', precision: 3, nullable: true })
  replayedAt!: Date | null;
}
