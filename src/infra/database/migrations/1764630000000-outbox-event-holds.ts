import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Holds on outbox events: a job that reads its event from the outbox by id (a webhook delivery,
 * the `dispatch-event` job itself) holds it, and the prune never deletes a held event. A hold is
 * released when its job is finished; holds of jobs the queue lost are released by the sweeper.
 */
export class OutboxEventHolds1764630000000 implements MigrationInterface {
  name = 'OutboxEventHolds1764630000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "outbox_event_holds" (
        "event_id" uuid NOT NULL,
        "job_id" varchar(128) NOT NULL,
        "created_at" timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT "outbox_event_holds_pkey" PRIMARY KEY ("event_id", "job_id")
      )`);
    await queryRunner.query(`CREATE INDEX "outbox_event_holds_created_at_idx" ON "outbox_event_holds" ("created_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "outbox_event_holds"`);
  }
}
