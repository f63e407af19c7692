import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { mailConfig } from '../../../config/index.js';
import { MailTransport } from './mail-transport.js';
import { welcomeEmail, type WelcomeEmailJob } from './welcome-email.js';

export type SendOutcome = 'sent' | 'already-sent';

/**
 * Sends the welcome email at most once per `user.created` event.
 *
 * The ledger row (`sent_emails`, primary key = event id + kind) is inserted and the email sent
 * inside one transaction, committed only once the SMTP server accepted the message:
 * - a redelivered job finds the row and sends nothing;
 * - two deliveries at once: the second waits on the first's uncommitted key, then finds it;
 * - a failed send, or a worker killed mid-send, rolls the row back so the retry sends.
 * The one gap left is a crash between the server's acceptance and our commit (then the retry
 * sends again): at-least-once at that boundary, which no SMTP client can close.
 */
@Injectable()
export class WelcomeEmailService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(MailTransport) private readonly transport: MailTransport,
    @Inject(mailConfig.KEY) private readonly config: ConfigType<typeof mailConfig>,
  ) {}

  async send(job: WelcomeEmailJob): Promise<SendOutcome> {
    return this.dataSource.transaction(async (manager) => {
      const inserted: unknown[] = await manager.query(
        `INSERT INTO "sent_emails" ("event_id", "kind", "recipient") VALUES ($1, 'welcome', $2)
         ON CONFLICT DO NOTHING RETURNING "event_id"`,
        [job.eventId, job.email],
      );
      if (inserted.length === 0) return 'already-sent';
      const info = await this.transport.sendMail(welcomeEmail(this.config.from, job));
      await manager.query(`UPDATE "sent_emails" SET "message_id" = $3 WHERE "event_id" = $1 AND "kind" = $2`, [
        job.eventId,
        'welcome',
        info.messageId ?? null,
      ]);
      return 'sent';
    });
  }
}
