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

interface OutboxRow {
  id: string;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  payload: unknown;
  occurred_at: Date;
}

/**
 * Every `OUTBOX_SWEEP_INTERVAL_MS`, hands over events still undispatched `OUTBOX_SWEEP_AFTER_MS`
 * after they occurred (a crash between commit and enqueue, or the queue being down), and deletes
 * dispatched events older than `OUTBOX_RETENTION_SECONDS`. A transaction-scoped advisory lock
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
        `SELECT id, type, aggregate_type, aggregate_id, payload, occurred_at FROM outbox_events
          WHERE dispatched_at IS NULL AND occurred_at < now() - make_interval(secs => $1)
          ORDER BY occurred_at LIMIT $2`,
        [this.config.outbox.sweepAfterMs / 1000, SWEEP_BATCH],
      );
      const dispatched = rows.length > 0 ? await this.relay.relay(rows.map(toEvent), manager) : 0;
      if (dispatched > 0) this.logger.log(`handed over ${dispatched} event(s) the relay had missed`);

      const retention = this.config.outbox.retentionMs;
      if (Date.now() - this.lastPrune >= Math.min(60_000, retention)) {
        this.lastPrune = Date.now();
        await manager.query(
          `DELETE FROM outbox_events WHERE id IN (
             SELECT id FROM outbox_events WHERE dispatched_at < now() - make_interval(secs => $1) LIMIT $2)`,
          [retention / 1000, PRUNE_BATCH],
        );
      }
      return dispatched;
    });
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
  return {
    id: row.id,
    type: row.type,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    occurredAt: new Date(row.occurred_at).toISOString(),
    payload: row.payload,
  };
}
