import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The W3C trace context (`traceparent`, `tracestate`) of the transaction that wrote each outbox
 * event, so the relay, the sweeper and the event job continue that trace (docs/tracing.md). Null
 * when tracing is off or the write was not traced.
 */
export class OutboxTraceContext1764650000000 implements MigrationInterface {
  name = 'OutboxTraceContext1764650000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // A traceparent is 55 characters; a tracestate at most 32 list members of 256 (W3C Trace Context).
    await queryRunner.query(
      `ALTER TABLE "outbox_events" ADD COLUMN "trace_parent" varchar(55), ADD COLUMN "trace_state" varchar(512)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "outbox_events" DROP COLUMN "trace_parent", DROP COLUMN "trace_state"`);
  }
}
