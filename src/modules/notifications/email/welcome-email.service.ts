import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { mailConfig } from '../../../config/index.js';
import { MailTransport } from './mail-transport.js';
import { welcomeEmail, type WelcomeEmailRecipient } from './welcome-email.js';

/**
 * `already-pending`: another attempt's `pending` row (sending now, or stopped mid-send); not resent (at most once).
 * `suppressed`: the user's creation was over its client's welcome email limit (`WelcomeEmailQuota`); never sent.
 * `dropped`: the job names no committed `user.created` event (forged, or pruned); nothing sent.
 */
export type SendOutcome = 'sent' | 'already-sent' | 'already-pending' | 'suppressed' | 'dropped';

/**
 * Sends the welcome email at most once per `user.created` event, holding no transaction (and
 * no pool connection) while the SMTP server is talked to.
 *
 * The ledger (`sent_emails`, primary key = event id + kind) is written in two short statements:
 * a `pending` row committed before sending, marked `sent` once the server accepted the message.
 * - a redelivered job finds the row and sends nothing;
 * - two deliveries at once: only one inserts the row, the other finds it `pending` and sends nothing;
 * - a send that fails (refused, unreachable, timed out) deletes its row so the retry sends;
 * - a worker killed mid-send leaves the row `pending`: the retry finds it and does not send,
 *   since the server may have accepted the message. It logs a warning naming the event; an
 *   operator finds them all with `SELECT * FROM sent_emails WHERE status = 'pending'`.
 * A timeout after the message was transmitted is the one case that may send twice (the delete
 * lets the retry send): no SMTP client can tell "accepted" from "lost" there.
 */
@Injectable()
export class WelcomeEmailService {
  private readonly logger = new Logger(WelcomeEmailService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(MailTransport) private readonly transport: MailTransport,
    @Inject(mailConfig.KEY) private readonly config: ConfigType<typeof mailConfig>,
  ) {}

  async send(job: WelcomeEmailRecipient): Promise<SendOutcome> {
    const inserted: unknown[] = await this.dataSource.query(
      `INSERT INTO "sent_emails" ("event_id", "kind", "recipient", "status") VALUES ($1, 'welcome', $2, 'pending')
       ON CONFLICT DO NOTHING RETURNING "event_id"`,
      [job.eventId, job.email],
    );
    if (inserted.length === 0) return this.existing(job.eventId);

    let messageId: string | null;
    try {
      messageId = (await this.transport.sendMail(welcomeEmail(this.config.from, job))).messageId ?? null;
    } catch (error) {
      await this.dataSource.query(
        `DELETE FROM "sent_emails" WHERE "event_id" = $1 AND "kind" = 'welcome' AND "status" = 'pending'`,
        [job.eventId],
      );
      throw error;
    }
    await this.dataSource.query(
      `UPDATE "sent_emails" SET "status" = 'sent', "sent_at" = now(), "message_id" = $2 WHERE "event_id" = $1 AND "kind" = 'welcome'`,
      [job.eventId, messageId],
    );
    return 'sent';
  }

  private async existing(eventId: string): Promise<SendOutcome> {
    const rows: Array<{ status: string }> = await this.dataSource.query(
      `SELECT "status" FROM "sent_emails" WHERE "event_id" = $1 AND "kind" = 'welcome'`,
      [eventId],
    );
    if (rows[0]?.status === 'suppressed') return 'suppressed';
    if (rows[0]?.status !== 'pending') return 'already-sent';
    // Either another attempt is sending right now, or one stopped mid-send (a killed worker):
    // the server may have accepted that message, so this one is not sent.
    this.logger.warn(
      `welcome email for event ${eventId}: ledger row pending (another attempt sending, or one stopped mid-send); not resent`,
    );
    return 'already-pending';
  }
}
