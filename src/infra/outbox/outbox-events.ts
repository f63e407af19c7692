import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** A committed domain event as the outbox stores it (what a job that carries only its id reads). */
export interface StoredEvent {
  id: string;
  type: string;
  /** ISO 8601, milliseconds: the same string the event had when it was emitted. */
  occurredAt: string;
  /** The entity as the API returned it; from `jsonb`, so its keys may come back in another order. */
  payload: unknown;
}

/**
 * Read access to `outbox_events` for jobs that carry an event id instead of the event (so nothing
 * a job carries is trusted: what is sent is what was committed), and the holds that keep such an
 * event from being pruned while a job still needs it.
 *
 * A hold is `(event id, job id)`. The `dispatch-event` job holds its event from the relay on (the
 * relay writes it); jobs a subscriber marks `readsEvent` hold it from the fan-out on; each job
 * releases its own hold when it is finished. The sweeper never prunes a held event, and releases
 * holds, older than the retention, whose job the queue no longer has or has finished.
 *
 * ```ts
 * const event = await outboxEvents.find(job.data.eventId); // undefined: pruned, or never committed
 * await outboxEvents.release(job.data.eventId, job.id);    // when the job is done for good
 * ```
 */
@Injectable()
export class OutboxEvents {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async find(id: string): Promise<StoredEvent | undefined> {
    const rows = await this.dataSource.query<Array<{ id: string; type: string; occurred_at: Date; payload: unknown }>>(
      `SELECT id, type, occurred_at, payload FROM outbox_events WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return { id: row.id, type: row.type, occurredAt: new Date(row.occurred_at).toISOString(), payload: row.payload };
  }

  /**
   * In one statement: holds a committed event for each of `jobIds` (an event that is not in the
   * outbox gets no hold) and releases `releasedJobId`'s hold. The dispatch hands its hold over
   * to the jobs it is about to add this way.
   */
  async handOver(eventId: string, releasedJobId: string, jobIds: readonly string[]): Promise<void> {
    await this.dataSource.query(
      `WITH released AS (DELETE FROM outbox_event_holds WHERE event_id = $1 AND job_id = $2)
       INSERT INTO outbox_event_holds (event_id, job_id)
       SELECT e.id, j FROM outbox_events e, unnest($3::varchar[]) AS j WHERE e.id = $1
       ON CONFLICT DO NOTHING`,
      [eventId, releasedJobId, jobIds],
    );
  }

  /** The job no longer needs the event; idempotent. */
  async release(eventId: string, jobId: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM outbox_event_holds WHERE event_id = $1 AND job_id = $2`, [eventId, jobId]);
  }
}
