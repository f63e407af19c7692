import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { UnitOfWork } from './unit-of-work.js';
import { enqueue, QueueDriver } from '../queue/index.js';
import { withSpan } from '../tracing/index.js';
import { DISPATCH_EVENT } from './dispatch-event.job.js';
import type { DomainEvent } from './domain-event.js';

const ENQUEUE_CHUNK = 100;

/**
 * Hands committed domain events to the queue: one `dispatch-event` job per event, with the event
 * id as job id (so a second hand-over of the same event adds nothing), then marks them
 * dispatched. It runs after every commit without holding up the HTTP response; when the queue is
 * unreachable the events simply stay undispatched and the sweeper hands them over later. A write
 * therefore never fails because Redis is down.
 */
@Injectable()
export class OutboxRelay implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('OutboxRelay');
  private readonly pending = new Set<Promise<void>>();
  /** Ids on the queue, waiting for the next `dispatched_at` update. */
  private readonly toMark: string[] = [];
  private marking: Promise<void> | undefined;
  private lastWarning = 0;

  constructor(
    private readonly unitOfWork: UnitOfWork,
    @Inject(QueueDriver) private readonly queue: QueueDriver,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    this.unitOfWork.onCommitted(({ events }) => {
      this.relayInBackground(events);
      return Promise.resolve();
    });
  }

  /** Waits for hand-overs still in flight (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  /**
   * The sweeper's hand-over: enqueues the events and marks the ones that made it dispatched, with
   * `manager` (inside the sweeper's locked transaction). Returns how many were dispatched.
   */
  async relay(events: readonly DomainEvent[], manager: EntityManager): Promise<number> {
    const dispatched = await this.enqueue(events, true);
    if (dispatched.length > 0) await markDispatched(manager, dispatched);
    return dispatched.length;
  }

  private relayInBackground(events: readonly DomainEvent[]): void {
    const work: Promise<void> = this.enqueue(events, false)
      .then((dispatched) => this.markDispatchedSoon(dispatched))
      .catch((error: unknown) =>
        this.warn(`could not hand ${events.length} event(s) over; the sweeper will retry`, error),
      )
      .finally(() => this.pending.delete(work));
    this.pending.add(work);
  }

  /**
   * Group commit: ids that arrive while an update runs go out together in the next one, so under
   * load the relay costs one commit per batch of writes instead of one per write. An id whose
   * update fails or never runs (a crash) stays undispatched and the sweeper hands it over again;
   * the job id (= event id) and the consumers' idempotency absorb the repeat.
   */
  private markDispatchedSoon(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    this.toMark.push(...ids);
    this.marking ??= this.flushMarks();
    return this.marking;
  }

  private async flushMarks(): Promise<void> {
    // Yield first, so `marking` holds this flush before it can finish (even if a query threw synchronously).
    await Promise.resolve();
    try {
      while (this.toMark.length > 0) {
        const batch = this.toMark.splice(0, this.toMark.length);
        try {
          await markDispatched(this.dataSource.manager, batch);
        } catch (error) {
          this.warn(`could not mark ${batch.length} event(s) dispatched; the sweeper will retry`, error);
        }
      }
    } finally {
      // In the same turn as the empty check: an id pushed after it starts a new flush.
      this.marking = undefined;
    }
  }

  /** Returns the ids that are now safely on the queue. */
  private async enqueue(events: readonly DomainEvent[], swept: boolean): Promise<string[]> {
    const done: string[] = [];
    let failure: unknown;
    for (let start = 0; start < events.length; start += ENQUEUE_CHUNK) {
      const chunk = events.slice(start, start + ENQUEUE_CHUNK);
      const outcomes = await Promise.allSettled(chunk.map((event) => this.handOver(event, swept)));
      outcomes.forEach((outcome, index) => {
        if (outcome.status === 'fulfilled') done.push(chunk[index]!.id);
        else failure ??= outcome.reason;
      });
      // The queue is down: the rest would fail the same way; the sweeper takes over.
      if (failure !== undefined) break;
    }
    if (failure !== undefined)
      this.warn(`queue unavailable; ${events.length - done.length} event(s) left for the sweeper`, failure);
    return done;
  }

  /**
   * One event onto the queue. A traced event is handed over in a span that is a child of the
   * transaction that wrote it, also when the sweeper does it much later (docs/tracing.md, "Across
   * the outbox"): the queue's producer span, the event job and its side effects join that trace.
   */
  private handOver(event: DomainEvent, swept: boolean): Promise<unknown> {
    // Attempts and backoff as declared with the job (dispatch-event.job.ts).
    const add = () => enqueue(this.queue, DISPATCH_EVENT, { event }, { jobId: event.id });
    if (event.trace === undefined) return add();
    const attributes = { 'outbox.event_id': event.id, 'outbox.event_type': event.type, 'outbox.swept': swept };
    return withSpan('outbox hand-over', { parent: event.trace, attributes }, add);
  }

  /** At most one warning every 10 s: an outage must not flood the log with one line per write. */
  private warn(message: string, error: unknown): void {
    const now = Date.now();
    if (now - this.lastWarning < 10_000) return;
    this.lastWarning = now;
    this.logger.warn(`${message}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Marks events dispatched and, in the same statement, gives each one's `dispatch-event` job (job
 * id = event id) a hold on it: the prune must not delete an event whose dispatch has not fanned
 * out yet (its delivery jobs, made later, read the event by id). The dispatch releases the hold.
 */
async function markDispatched(manager: EntityManager, ids: readonly string[]): Promise<void> {
  await manager.query(
    `WITH marked AS (
       UPDATE outbox_events SET dispatched_at = now() WHERE id = ANY($1::uuid[]) AND dispatched_at IS NULL RETURNING id)
     INSERT INTO outbox_event_holds (event_id, job_id) SELECT id, id::text FROM marked ON CONFLICT DO NOTHING`,
    [ids],
  );
}
