import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Staging for bulk imports: the request's items are written here once (in the request's
 * transaction) and the import job carries only the import id. The rows are deleted when the job
 * completes; an attempt that fails sets `failed_at` and keeps them (a crashed or interrupted
 * attempt is run again and needs them) until they are a day old. A client's rows without
 * `failed_at` are its imports waiting or running (the per-client limit).
 */
export class ProductImports1764180000000 implements MigrationInterface {
  name = 'ProductImports1764180000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "product_imports" (
        "id" uuid NOT NULL,
        "client" varchar(300) NOT NULL,
        "item_count" integer NOT NULL,
        "created_at" timestamptz(3) NOT NULL DEFAULT now(),
        "failed_at" timestamptz(3),
        CONSTRAINT "product_imports_pkey" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "product_imports_client_created_at_idx" ON "product_imports" ("client", "created_at")`,
    );
    // json, not jsonb: items are kept byte for byte (jsonb refuses "\u0000", which validation must see and reject).
    await queryRunner.query(`
      CREATE TABLE "product_import_items" (
        "import_id" uuid NOT NULL,
        "position" integer NOT NULL,
        "item" json NOT NULL,
        CONSTRAINT "product_import_items_pkey" PRIMARY KEY ("import_id", "position"),
        CONSTRAINT "product_import_items_import_fk" FOREIGN KEY ("import_id") REFERENCES "product_imports" ("id") ON DELETE CASCADE
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "product_import_items"`);
    await queryRunner.query(`DROP TABLE "product_imports"`);
  }
}
