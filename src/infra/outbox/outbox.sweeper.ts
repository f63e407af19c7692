import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { queueConfig } from '../../config/index.js';
import { MetricsService } from '../metrics/index.js';
import { QueueDriver } from '../queue/index.js';
import type { DomainEvent } from './domain-event.js';
import { OutboxRelay } from './outbox.relay.js';

/** pg advisory lock key of the sweeper ("outbox" in ASCII): one instance sweeps at a time. */
export const SWEEPER_LOCK = 0x6f7574626f78;
const SWEEP_BATCH = 500;
const PRUNE_BATCH = 5000;
/** Old holds checked against the queue per prune (one queue lookup each). */
const LOST_HOLD_BATCH = 100;

/** A row of outbox_event_holds: a job that still needs its event. */
interface Hold {
  event_id: string;
  job_id: string;
}

interface OutboxRow {
  id: string;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  payload: unknown;
  occurred_at: Date;
  trace_parent: string | null;
  trace_state: string | null;
}

/**
 * Every `OUTBOX_SWEEP_INTERVAL_MS`, hands over events still undispatched `OUTBOX_SWEEP_AFTER_MS`
 * after they occurred (a crash between commit and enqueue, or the queue being down), and deletes
 * dispatched events older than `OUTBOX_RETENTION_SECONDS` that no job holds (`OutboxEvents`). A transaction-scoped advisory lock
 * keeps it to one instance at a time across the fleet.
 */
@Injectable()
export class OutboxSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('OutboxSweeper');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastPrune = 0;

  constructor(
    @Inject(queueConfig.KEY) private readonly config: ConfigType<typeof queueConfig>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly relay: OutboxRelay,
    private readonly metrics: MetricsService,
    @Inject(QueueDriver) private readonly queue: QueueDriver,
  ) {}

  onApplicationBootstrap(): void {
    this.metrics.onCollect(() => this.collectLag());
    this.timer = setInterval(() => this.tick(), this.config.outbox.sweepIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One sweep now; resolves to how many events it handed over (0 when another instance holds the lock). */
  async sweep(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const [lock] = await manager.query<Array<{ locked: boolean }>>(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [
        SWEEPER_LOCK,
      ]);
      if (!lock?.locked) return 0;
      await this.redispatchIfQueueStorageWasLost(manager);
      const rows = await manager.query<OutboxRow[]>(
        `SELECT id, type, aggregate_type, aggregate_id, payload, occurred_at, trace_parent, trace_state FROM outbox_events
          WHERE dispatched_at IS NULL AND occurred_at < now() - make_interval(secs => $1)
          ORDER BY occurred_at LIMIT $2`,
        [this.config.outbox.sweepAfterMs / 1000, SWEEP_BATCH],
      );
      const dispatched = rows.length > 0 ? await this.relay.relay(rows.map(toEvent), manager) : 0;
      if (dispatched > 0) this.logger.log(`handed over ${dispatched} event(s) the relay had missed`);

      const retention = this.config.outbox.retentionMs;
      if (Date.now() - this.lastPrune >= Math.min(60_000, retention)) {
        this.lastPrune = Date.now();
        await this.releaseLostHolds(manager);
        // A held event (a dispatch or a delivery still needs it) is kept, however old.
        await manager.query(
          `DELETE FROM outbox_events WHERE id IN (
             SELECT e.id FROM outbox_events e
              WHERE e.dispatched_at < now() - make_interval(secs => $1)
                AND NOT EXISTS (SELECT 1 FROM outbox_event_holds h WHERE h.event_id = e.id)
              LIMIT $2)`,
          [retention / 1000, PRUNE_BATCH],
        );
      }
      return dispatched;
    });
  }

  /**
   * Holds older than the retention whose job the queue no longer has, or has finished (a crash
   * between a job's end and its release, a queue storage that lost its jobs, a hold written after
   * its dispatch already ran), are released so their events can be pruned. A job that is still
   * waiting, delayed or running keeps its hold. Unreachable queue: nothing is released.
   */
  private async releaseLostHolds(manager: EntityManager): Promise<void> {
    const holds = await manager.query<Hold[]>(
      `SELECT event_id, job_id FROM outbox_event_holds WHERE created_at < now() - make_interval(secs => $1)
        ORDER BY created_at LIMIT $2`,
      [this.config.outbox.retentionMs / 1000, LOST_HOLD_BATCH],
    );
    const lost: Hold[] = [];
    const pending: Hold[] = [];
    try {
      for (const hold of holds) {
        const job = await this.queue.getJob(hold.job_id);
        if (job === undefined || job.state === 'completed' || job.state === 'failed') lost.push(hold);
        else pending.push(hold);
      }
    } catch (error) {
      this.logger.debug(
        `holds not checked, queue unavailable: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const columns = (list: Hold[]) => [list.map((h) => h.event_id), list.map((h) => h.job_id)];
    // Still needed: checked again one retention later, so the next batch reaches other holds.
    if (pending.length > 0) {
      await manager.query(
        `UPDATE outbox_event_holds h SET created_at = now()
           FROM unnest($1::uuid[], $2::varchar[]) AS l(event_id, job_id)
          WHERE h.event_id = l.event_id AND h.job_id = l.job_id`,
        columns(pending),
      );
    }
    if (lost.length === 0) return;
    await manager.query(
      `DELETE FROM outbox_event_holds h USING unnest($1::uuid[], $2::varchar[]) AS l(event_id, job_id)
        WHERE h.event_id = l.event_id AND h.job_id = l.job_id`,
      columns(lost),
    );
    this.logger.log(`released ${lost.length} outbox hold(s) whose job is finished or gone`);
  }

  /**
   * A queue storage that lost its jobs (Redis without persistence, restarted empty) also lost the
   * dispatch jobs of recently dispatched events: mark those undispatched again so this sweep hands
   * them over once more. Job ids are event ids, so events whose jobs did survive add nothing.
   */
  private async redispatchIfQueueStorageWasLost(manager: EntityManager): Promise<void> {
    let epoch: string | undefined;
    try {
      epoch = await this.queue.storageEpoch();
    } catch (error) {
      // Unreachable queue: nothing can be handed over now anyway. A lasting failure would turn the
      // check off unnoticed, so it is logged (at debug: the relay already warns about outages).
      this.logger.debug(`queue storage epoch unavailable: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (epoch === undefined) return;
    const changed = await manager.query<unknown[]>(
      `INSERT INTO outbox_state (key, value) VALUES ('queue_storage_epoch', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value WHERE outbox_state.value <> EXCLUDED.value
         RETURNING key`,
      [epoch],
    );
    if (changed.length === 0) return;
    const [reset] = await manager.query<Array<{ count: number }>>(
      `WITH reset AS (
         UPDATE outbox_events SET dispatched_at = NULL
          WHERE dispatched_at IS NOT NULL AND dispatched_at > now() - make_interval(secs => $1)
          RETURNING 1)
       SELECT count(*)::int AS count FROM reset`,
      [this.config.outbox.redispatchWindowMs / 1000],
    );
    if ((reset?.count ?? 0) > 0) {
      this.logger.warn(
        `the queue storage is new (lost or first seen): handing over ${reset?.count} recent event(s) again`,
      );
    }
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.sweep()
      .then(() => undefined)
      .catch((error: unknown) =>
        this.logger.warn(`sweep failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => (this.running = undefined));
  }

  private async collectLag(): Promise<void> {
    const [row] = await this.dataSource.query<Array<{ lag: number }>>(
      `SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(occurred_at)), 0)::float8 AS lag FROM outbox_events WHERE dispatched_at IS NULL`,
    );
    this.metrics.outboxLag.set(Math.max(0, row?.lag ?? 0));
  }
}

function toEvent(row: OutboxRow): DomainEvent {
  const event: DomainEvent = {
    id: row.id,
    type: row.type,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    occurredAt: new Date(row.occurred_at).toISOString(),
    payload: row.payload,
  };
  // The writer's trace: the hand-over continues it (outbox.relay.ts).
  if (row.trace_parent !== null)
    event.trace = {
      traceparent: row.trace_parent,
      ...(row.trace_state === null ? {} : { tracestate: row.trace_state }),
    };
  return event;
}
