import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One email we sent, keyed by the event that caused it: the key is what makes sending idempotent. */
@Entity({ name: 'sent_emails' })
export class SentEmailEntity {
  @PrimaryColumn({ name: 'event_id', type: 'uuid' })
  eventId!: string;

  @PrimaryColumn({ type: 'varchar', length: 50 })
  kind!: string;

  @Column({ type: 'varchar', length: 254 })
  recipient!: string;

  @Column({ name: 'message_id', type: 'text', nullable: true })
  messageId!: string | null;

  /**
   * `pending`: committed before the SMTP conversation; `sent`: the server accepted the message;
   * `suppressed`: written with the user, over its client's welcome email limit; never sent.
   */
  @Column({ type: 'varchar', length: 10 })
  status!: 'pending' | 'sent' | 'suppressed';

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', precision: 3, nullable: true })
  sentAt!: Date | null;
}
