import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Small key/value state of the outbox sweeper (the last queue storage epoch it saw). */
export class OutboxState1764170000000 implements MigrationInterface {
  name = 'OutboxState1764170000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "outbox_state" ("key" varchar(100) PRIMARY KEY, "value" text NOT NULL)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "outbox_state"`);
  }
}
