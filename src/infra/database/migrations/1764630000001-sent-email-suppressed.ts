import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The welcome-email ledger's third status: `suppressed`, written with the user when its client
 * is over its welcome email limit (WELCOME_EMAIL_LIMIT), so the email job sends nothing.
 */
export class SentEmailSuppressed1764630000001 implements MigrationInterface {
  name = 'SentEmailSuppressed1764630000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "sent_emails" DROP CONSTRAINT "sent_emails_status_check",
         ADD CONSTRAINT "sent_emails_status_check" CHECK ("status" IN ('pending', 'sent', 'suppressed'))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "sent_emails" WHERE "status" = 'suppressed'`);
    await queryRunner.query(
      `ALTER TABLE "sent_emails" DROP CONSTRAINT "sent_emails_status_check",
         ADD CONSTRAINT "sent_emails_status_check" CHECK ("status" IN ('pending', 'sent'))`,
    );
  }
}
