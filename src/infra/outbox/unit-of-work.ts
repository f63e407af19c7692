import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import { currentTraceCarrier, withSpan } from '../tracing/index.js';
import { type Aggregate, type AggregateState, type EventKind, eventType } from './aggregate.js';
import { DeclaredAggregates } from './declared-aggregates.js';
import type { DomainEvent } from './domain-event.js';
import { OutboxEventEntity } from './outbox-event.entity.js';

/** What a write sees inside `UnitOfWork.run`. */
export interface TransactionScope {
  /** Use this manager (never the global one) for every query of the write. */
  readonly manager: EntityManager;
  /**
   * Records that `state` (the entity as the API returns it) is the aggregate's new state, or its
   * last one for `deleted`: an event of type `<aggregate.type>.<kind>` with `state` as payload and
   * `state.id` as aggregate id, inserted into the outbox in this same transaction. The aggregate
   * must be declared with `OutboxModule.forFeature`.
   */
  emit<S extends AggregateState>(aggregate: Aggregate<S>, kind: EventKind, state: NoInfer<S>): DomainEvent<S>;
  /** Runs `work` after the commit, never after a rollback. Its errors are logged, not thrown. */
  afterCommit(work: () => Promise<void> | void): void;
}

/** One emitted change, typed: what infra reacting to an aggregate's changes reads (not the event's type string). */
export interface AggregateChange<S extends AggregateState = AggregateState> {
  readonly aggregate: Aggregate<S>;
  readonly kind: EventKind;
  /** The event as stored and dispatched; its payload is the state, with its typed `version`. */
  readonly event: DomainEvent<S>;
}

/** What after-commit listeners receive: the events the transaction committed, in order. */
export interface CommittedTransaction {
  /** As the outbox stores them (what the relay hands to the queue). */
  readonly events: readonly DomainEvent[];
  /** The same events with their descriptor and kind. */
  readonly changes: readonly AggregateChange[];
}

/**
 * A listener runs after every commit that recorded events, before the write is acknowledged
 * (so a cache write-through is visible to the next read); it must not throw.
 */
export type AfterCommitListener = (committed: CommittedTransaction) => Promise<void>;

/**
 * Rows a caller above the unit of work adds to the transaction of the writes it holds (see
 * `UnitOfWork.holding`): the first statement of the transaction and the last one before commit.
 * Either may throw to roll the whole transaction back.
 */
export interface TransactionParticipant<R> {
  begin(manager: EntityManager): Promise<void>;
  complete(manager: EntityManager, outcome: R): Promise<void>;
}

/** The transaction a `holding` call keeps open across the units of work run inside it. */
interface HeldTransaction {
  begin: (manager: EntityManager) => Promise<void>;
  open?: { runner: QueryRunner; changes: AggregateChange[]; afterCommit: Array<() => Promise<void> | void> };
  settled: boolean;
}

/**
 * Runs a write in one transaction with its domain events (transactional outbox), then the
 * after-commit work. Example:
 *
 * ```ts
 * return this.unitOfWork.run(async (tx) => {
 *   const product = await this.products.insert(tx.manager, input);
 *   tx.emit(productAggregate, 'created', toResponse(product));
 *   return product;
 * });
 * ```
 */
@Injectable()
export class UnitOfWork {
  private readonly logger = new Logger(UnitOfWork.name);
  private readonly listeners: AfterCommitListener[] = [];
  private readonly held = new AsyncLocalStorage<HeldTransaction>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly declared: DeclaredAggregates,
  ) {}

  /** Infra modules (cache write-through, outbox relay) subscribe here in `onModuleInit`. */
  onCommitted(listener: AfterCommitListener): void {
    this.listeners.push(listener);
  }

  async run<T>(work: (tx: TransactionScope) => Promise<T>): Promise<T> {
    const held = this.held.getStore();
    if (held && !held.settled) return this.runHeld(held, work);
    const changes: AggregateChange[] = [];
    const afterCommit: Array<() => Promise<void> | void> = [];

    // One span per transaction (tracing on): its queries are its children, and its events carry it.
    const result = await withSpan('unit-of-work', {}, () =>
      this.dataSource.transaction(async (manager) => {
        const value = await work(this.scopeOf(manager, changes, afterCommit));
        if (changes.length > 0) await this.insertEvents(manager, changes);
        return value;
      }),
    );

    await this.runAfterCommit(changes, afterCommit);
    return result;
  }

  /**
   * Runs `work` (a whole request handler) so that the units of work it runs share one transaction
   * that commits only when `work` has produced its outcome: `participant.begin` is the
   * transaction's first statement, `participant.complete(outcome)` its last before the commit, so
   * the outcome is committed with the writes or not at all. `work` failing rolls everything back.
   * After-commit work runs after that commit, before this resolves. When `work` runs no unit of
   * work, no transaction is opened and the participant is not called. Example (idempotency keys):
   *
   * ```ts
   * const response = await unitOfWork.holding(
   *   { begin: (m) => reserveKey(m), complete: (m, response) => storeResponse(m, response) },
   *   () => renderResponse(handler()),
   * );
   * ```
   *
   * Code after a unit of work inside `work` runs before the commit: keep it short and, if it
   * hands the written rows to another process (a queue job), let that process wait for the commit.
   */
  async holding<R>(participant: TransactionParticipant<R>, work: () => Promise<R>): Promise<R> {
    const held: HeldTransaction = { begin: (manager) => participant.begin(manager), settled: false };
    let outcome: R;
    try {
      outcome = await this.held.run(held, work);
    } catch (error) {
      held.settled = true;
      await this.rollback(held);
      throw error;
    }
    held.settled = true;
    const open = held.open;
    if (!open) return outcome;
    try {
      await participant.complete(open.runner.manager, outcome);
      await open.runner.commitTransaction();
    } catch (error) {
      await this.rollback(held);
      throw error;
    }
    held.open = undefined;
    await open.runner.release();
    await this.runAfterCommit(open.changes, open.afterCommit);
    return outcome;
  }

  /** A unit of work inside `holding`: the first one opens the held transaction, the others join it. */
  private async runHeld<T>(held: HeldTransaction, work: (tx: TransactionScope) => Promise<T>): Promise<T> {
    if (!held.open) {
      const runner = this.dataSource.createQueryRunner();
      await runner.connect();
      held.open = { runner, changes: [], afterCommit: [] };
      try {
        await runner.startTransaction();
        await held.begin(runner.manager);
      } catch (error) {
        await this.rollback(held);
        throw error;
      }
    }
    const open = held.open;
    const changes: AggregateChange[] = [];
    try {
      const value = await work(this.scopeOf(open.runner.manager, changes, open.afterCommit));
      if (changes.length > 0) await this.insertEvents(open.runner.manager, changes);
      open.changes.push(...changes);
      return value;
    } catch (error) {
      // A failed statement aborts the whole transaction: nothing of it can be kept.
      await this.rollback(held);
      throw error;
    }
  }

  /** Rolls the held transaction back (if open) and frees its connection; a later unit of work opens a new one. */
  private async rollback(held: HeldTransaction): Promise<void> {
    const open = held.open;
    if (!open) return;
    held.open = undefined;
    if (open.runner.isReleased) return;
    try {
      if (open.runner.isTransactionActive) await open.runner.rollbackTransaction();
    } catch (error) {
      this.logger.warn(`rollback failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await open.runner.release();
    }
  }

  private scopeOf(
    manager: EntityManager,
    changes: AggregateChange[],
    afterCommit: Array<() => Promise<void> | void>,
  ): TransactionScope {
    return {
      manager,
      emit: <S extends AggregateState>(aggregate: Aggregate<S>, kind: EventKind, state: S) => {
        // Undeclared, it would escape the start-up checks of what reacts to it (write-through).
        if (!this.declared.has(aggregate))
          throw new Error(
            `Aggregate "${aggregate.type}" is emitted but not declared: add OutboxModule.forFeature(<its descriptor>) to its module`,
          );
        const event: DomainEvent<S> = {
          id: randomUUID(),
          type: eventType(aggregate, kind),
          aggregateType: aggregate.type,
          aggregateId: state.id,
          occurredAt: new Date().toISOString(),
          payload: state,
        };
        const trace = currentTraceCarrier();
        if (trace !== undefined) event.trace = trace;
        changes.push({ aggregate, kind, event });
        return event;
      },
      afterCommit: (fn) => afterCommit.push(fn),
    };
  }

  private async insertEvents(manager: EntityManager, changes: readonly AggregateChange[]): Promise<void> {
    // Chunked: Postgres takes at most 65535 bind parameters per statement, 9 per row here.
    for (let start = 0; start < changes.length; start += 5000) {
      await manager
        .createQueryBuilder()
        .insert()
        .into(OutboxEventEntity)
        .values(
          changes.slice(start, start + 5000).map(({ event: e }) => ({
            id: e.id,
            type: e.type,
            aggregateType: e.aggregateType,
            aggregateId: e.aggregateId,
            payload: e.payload,
            occurredAt: new Date(e.occurredAt),
            traceParent: e.trace?.traceparent ?? null,
            traceState: e.trace?.tracestate ?? null,
            dispatchedAt: null,
          })),
        )
        .updateEntity(false)
        .execute();
    }
  }

  private async runAfterCommit(
    changes: readonly AggregateChange[],
    work: Array<() => Promise<void> | void>,
  ): Promise<void> {
    const tasks: Array<Promise<void>> = work.map(async (fn) => fn());
    if (changes.length > 0) {
      const committed: CommittedTransaction = { events: changes.map((c) => c.event), changes };
      for (const listener of this.listeners) tasks.push(listener(committed));
    }
    const outcomes = await Promise.allSettled(tasks);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') this.logger.error('after-commit work failed', outcome.reason);
    }
  }
}
