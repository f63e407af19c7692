import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Webhook dead letters, and the ledger that makes the welcome email idempotent. */
export class Notifications1764160000000 implements MigrationInterface {
  name = 'Notifications1764160000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // One row per (event, receiver): a delivery that fails again after a replay updates its row.
    await queryRunner.query(`
      CREATE TABLE "webhook_dead_letters" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "event_id" uuid NOT NULL,
        "type" varchar(100) NOT NULL,
        "url" text NOT NULL,
        "payload" jsonb NOT NULL,
        "attempts" integer NOT NULL,
        "last_error" text NOT NULL,
        "failed_at" timestamptz(3) NOT NULL DEFAULT now(),
        "replayed_at" timestamptz(3),
        CONSTRAINT "webhook_dead_letters_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "webhook_dead_letters_event_url_uq" UNIQUE ("event_id", "url")
      )`);
    await queryRunner.query(
      `CREATE INDEX "webhook_dead_letters_pending_idx" ON "webhook_dead_letters" ("failed_at" DESC) WHERE replayed_at IS NULL`,
    );

    // The unique key is what makes sending idempotent: a redelivered job cannot insert twice.
    await queryRunner.query(`
      CREATE TABLE "sent_emails" (
        "event_id" uuid NOT NULL,
        "kind" varchar(50) NOT NULL,
        "recipient" varchar(254) NOT NULL,
        "message_id" text,
        "sent_at" timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT "sent_emails_pkey" PRIMARY KEY ("event_id", "kind")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "sent_emails"`);
    await queryRunner.query(`DROP TABLE "webhook_dead_letters"`);
  }
}
