import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { DomainEvent } from './domain-event.js';
import { OutboxEventEntity } from './outbox-event.entity.js';

/** What a write sees inside `UnitOfWork.run`. */
export interface TransactionScope {
  /** Use this manager (never the global one) for every query of the write. */
  readonly manager: EntityManager;
  /** Records a domain event; it is inserted into the outbox in this same transaction. */
  emit<T>(type: string, aggregate: { type: string; id: string }, payload: T): DomainEvent<T>;
  /** Runs `work` after the commit, never after a rollback. Its errors are logged, not thrown. */
  afterCommit(work: () => Promise<void> | void): void;
}

/** What after-commit listeners receive: the events the transaction committed. */
export interface CommittedTransaction {
  readonly events: readonly DomainEvent[];
}

/**
 * A listener runs after every commit that recorded events, before the write is acknowledged
 * (so a cache write-through is visible to the next read); it must not throw.
 */
export type AfterCommitListener = (committed: CommittedTransaction) => Promise<void>;

/**
 * Runs a write in one transaction with its domain events (transactional outbox), then the
 * after-commit work. Example:
 *
 * ```ts
 * return this.unitOfWork.run(async (tx) => {
 *   const product = await this.products.insert(tx.manager, input);
 *   tx.emit('product.created', { type: 'product', id: product.id }, toResponse(product));
 *   return product;
 * });
 * ```
 */
@Injectable()
export class UnitOfWork {
  private readonly logger = new Logger(UnitOfWork.name);
  private readonly listeners: AfterCommitListener[] = [];

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Infra modules (cache write-through, outbox relay) subscribe here in `onModuleInit`. */
  onCommitted(listener: AfterCommitListener): void {
    this.listeners.push(listener);
  }

  async run<T>(work: (tx: TransactionScope) => Promise<T>): Promise<T> {
    const events: DomainEvent[] = [];
    const afterCommit: Array<() => Promise<void> | void> = [];

    const result = await this.dataSource.transaction(async (manager) => {
      const scope: TransactionScope = {
        manager,
        emit: (type, aggregate, payload) => {
          const event = {
            id: randomUUID(),
            type,
            aggregateType: aggregate.type,
            aggregateId: aggregate.id,
            occurredAt: new Date().toISOString(),
            payload,
          };
          events.push(event);
          return event;
        },
        afterCommit: (fn) => afterCommit.push(fn),
      };
      const value = await work(scope);
      if (events.length > 0) await this.insertEvents(manager, events);
      return value;
    });

    await this.runAfterCommit(events, afterCommit);
    return result;
  }

  private async insertEvents(manager: EntityManager, events: DomainEvent[]): Promise<void> {
    // Chunked: Postgres takes at most 65535 bind parameters per statement, 7 per row here.
    for (let start = 0; start < events.length; start += 5000) {
      await manager
        .createQueryBuilder()
        .insert()
        .into(OutboxEventEntity)
        .values(
          events.slice(start, start + 5000).map((e) => ({
            id: e.id,
            type: e.type,
            aggregateType: e.aggregateType,
            aggregateId: e.aggregateId,
            payload: e.payload as object,
            occurredAt: new Date(e.occurredAt),
            dispatchedAt: null,
          })),
        )
        .updateEntity(false)
        .execute();
    }
  }

  private async runAfterCommit(events: DomainEvent[], work: Array<() => Promise<void> | void>): Promise<void> {
    const tasks: Array<Promise<void>> = work.map(async (fn) => fn());
    if (events.length > 0) {
      const committed: CommittedTransaction = { events };
      for (const listener of this.listeners) tasks.push(listener(committed));
    }
    const outcomes = await Promise.allSettled(tasks);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') this.logger.error('after-commit work failed', outcome.reason);
    }
  }
}
