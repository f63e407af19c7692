import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The welcome-email ledger gets a status: a row is committed `pending` before the SMTP
 * conversation and marked `sent` after it, so no transaction stays open across network I/O.
 * Rows written before this migration were committed after sending: they are `sent`.
 */
export class SentEmailStatus1764190000000 implements MigrationInterface {
  name = 'SentEmailStatus1764190000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "sent_emails" ADD COLUMN "status" varchar(10) NOT NULL DEFAULT 'sent' CHECK ("status" IN ('pending', 'sent'))`,
    );
    await queryRunner.query(`ALTER TABLE "sent_emails" ALTER COLUMN "status" DROP DEFAULT`);
    await queryRunner.query(
      `ALTER TABLE "sent_emails" ALTER COLUMN "sent_at" DROP NOT NULL, ALTER COLUMN "sent_at" DROP DEFAULT`,
    );
    await queryRunner.query(`ALTER TABLE "sent_emails" ADD COLUMN "created_at" timestamptz(3) NOT NULL DEFAULT now()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "sent_emails" WHERE "status" = 'pending'`);
    await queryRunner.query(`ALTER TABLE "sent_emails" DROP COLUMN "created_at"`);
    await queryRunner.query(
      `ALTER TABLE "sent_emails" ALTER COLUMN "sent_at" SET DEFAULT now(), ALTER COLUMN "sent_at" SET NOT NULL`,
    );
    await queryRunner.query(`ALTER TABLE "sent_emails" DROP COLUMN "status"`);
  }
}
