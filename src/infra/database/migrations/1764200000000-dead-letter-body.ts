import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A dead letter keeps the exact body its delivery sent, so a replay sends the same bytes (the
 * `jsonb` payload reorders keys). Rows written before this migration have no body: a replay
 * falls back to serialising their payload.
 */
export class DeadLetterBody1764200000000 implements MigrationInterface {
  name = 'DeadLetterBody1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_dead_letters" ADD COLUMN "body" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_dead_letters" DROP COLUMN "body"`);
  }
}
