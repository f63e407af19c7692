import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The stored outcomes of `Idempotency-Key` requests (docs/idempotency.md). A row is inserted and
 * completed inside the write's own transaction, so a committed row always has its response; the
 * index on `expires_at` keeps the periodic prune of expired rows a range scan.
 */
export class IdempotencyKeys1764640000000 implements MigrationInterface {
  name = 'IdempotencyKeys1764640000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "idempotency_keys" (
        "scope" varchar(100) NOT NULL,
        "key" varchar(255) NOT NULL,
        "fingerprint" char(64) NOT NULL,
        "state" varchar(16) NOT NULL CHECK ("state" IN ('in_progress', 'completed')),
        "response_status" smallint,
        "response_headers" jsonb NOT NULL DEFAULT '{}',
        "response_body" bytea,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        PRIMARY KEY ("scope", "key")
      )`);
    await queryRunner.query(`CREATE INDEX "idempotency_keys_expires_at_idx" ON "idempotency_keys" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "idempotency_keys"`);
  }
}
