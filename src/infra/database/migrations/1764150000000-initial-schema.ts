import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764150000000 implements MigrationInterface {
  name = 'InitialSchema1764150000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "products" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "sku" varchar(64) NOT NULL,
        "name" varchar(200) NOT NULL,
        "description" varchar(2000),
        "price_cents" integer NOT NULL CHECK ("price_cents" BETWEEN 0 AND 1000000000),
        "currency" char(3) NOT NULL,
        "stock" integer NOT NULL DEFAULT 0 CHECK ("stock" >= 0),
        "active" boolean NOT NULL DEFAULT true,
        "version" integer NOT NULL DEFAULT 1,
        "created_at" timestamptz(3) NOT NULL DEFAULT now(),
        "updated_at" timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT "products_pkey" PRIMARY KEY ("id")
      )`);
    // Case-insensitive uniqueness lives in an expression index, so the entity marks it synchronize: false.
    await queryRunner.query(`CREATE UNIQUE INDEX "products_sku_lower_uq" ON "products" (lower("sku"))`);
    await queryRunner.query(`CREATE INDEX "products_created_at_id_idx" ON "products" ("created_at" DESC, "id" DESC)`);
    await queryRunner.query(
      `CREATE INDEX "products_active_created_at_id_idx" ON "products" ("active", "created_at" DESC, "id" DESC)`,
    );

    await queryRunner.query(`
      CREATE TABLE "users" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "email" varchar(254) NOT NULL,
        "name" varchar(200) NOT NULL,
        "version" integer NOT NULL DEFAULT 1,
        "created_at" timestamptz(3) NOT NULL DEFAULT now(),
        "updated_at" timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT "users_pkey" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "users_email_lower_uq" ON "users" (lower("email"))`);
    await queryRunner.query(`CREATE INDEX "users_created_at_id_idx" ON "users" ("created_at" DESC, "id" DESC)`);

    await queryRunner.query(`
      CREATE TABLE "outbox_events" (
        "id" uuid NOT NULL,
        "type" varchar(100) NOT NULL,
        "aggregate_type" varchar(100) NOT NULL,
        "aggregate_id" uuid NOT NULL,
        "payload" jsonb NOT NULL,
        "occurred_at" timestamptz(3) NOT NULL,
        "dispatched_at" timestamptz(3),
        CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "outbox_events_undispatched_idx" ON "outbox_events" ("occurred_at") WHERE dispatched_at IS NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "outbox_events"`);
    await queryRunner.query(`DROP TABLE "users"`);
    await queryRunner.query(`DROP TABLE "products"`);
  }
}
