import { Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import { type DomainEvent, UnitOfWork } from '../outbox/index.js';
import { CacheService } from './cache.service.js';

/**
 * How the committed changes of one aggregate type reach the cache. A feature module declares it
 * with `CacheModule.forFeature(rule)`; the key must be the one its `@Cached` get-by-id route uses.
 *
 * ```ts
 * CacheModule.forFeature({
 *   aggregateType: 'product',
 *   key: (id) => `product:${id}`,
 *   tags: ['products'],
 *   notFound: 'Product not found',
 * })
 * ```
 */
export interface WriteThroughRule {
  /** `aggregateType` of the domain events, e.g. `product`. */
  aggregateType: string;
  /** The entry key of one entity. */
  key: (id: string) => string;
  /** Tags invalidated by any change (the list routes' tags). */
  tags?: readonly string[];
  /** The 404 detail a tombstone answers with (the same as the handler's). */
  notFound: string;
  /** TTL of written entries in ms; the module default when omitted. */
  ttl?: number;
}

/** Transactions with more events than this (bulk imports) only invalidate tags for their creations. */
const MAX_CREATED_WRITES = 100;

/** Collects the rules every `CacheModule.forFeature` declares. */
@Injectable()
export class WriteThroughRegistry {
  private readonly rules = new Map<string, WriteThroughRule>();

  add(rules: readonly WriteThroughRule[]): void {
    for (const rule of rules) {
      if (this.rules.has(rule.aggregateType))
        throw new Error(`Two cache write-through rules for aggregate type "${rule.aggregateType}"`);
      this.rules.set(rule.aggregateType, rule);
    }
  }

  ruleFor(aggregateType: string): WriteThroughRule | undefined {
    return this.rules.get(aggregateType);
  }
}

/**
 * Write-through after commit: for each committed event with a rule, stores the entity's new state
 * (`*.deleted`: a tombstone) version-guarded, and invalidates the rule's tags, all before the write
 * is acknowledged. A rolled-back transaction emits nothing, so it touches nothing here.
 */
@Injectable()
export class WriteThroughListener implements OnModuleInit {
  private readonly logger = new Logger('Cache');

  constructor(
    private readonly registry: WriteThroughRegistry,
    private readonly cache: CacheService,
    @Optional() private readonly unitOfWork?: UnitOfWork,
  ) {}

  onModuleInit(): void {
    if (!this.cache.enabled) return;
    if (this.unitOfWork === undefined) {
      this.logger.warn('No UnitOfWork: cache write-through is off');
      return;
    }
    this.unitOfWork.onCommitted(({ events }) => this.apply(events));
  }

  /** Never throws: the cache service counts and logs its own failures. */
  async apply(events: readonly DomainEvent[]): Promise<void> {
    const latest = new Map<string, { rule: WriteThroughRule; event: DomainEvent }>();
    const tags = new Set<string>();
    const bulk = events.length > MAX_CREATED_WRITES;
    for (const event of events) {
      const rule = this.registry.ruleFor(event.aggregateType);
      if (rule === undefined) continue;
      for (const tag of rule.tags ?? []) tags.add(tag);
      if (bulk && event.type.endsWith('.created')) continue;
      latest.set(rule.key(event.aggregateId), { rule, event });
    }
    const work: Array<Promise<unknown>> = [];
    for (const [key, { rule, event }] of latest) {
      const version = (event.payload as { version?: unknown }).version;
      if (typeof version !== 'number') {
        // Without a version the guard cannot order this write: remove the entry instead.
        work.push(this.cache.delete(key));
      } else if (event.type.endsWith('.deleted')) {
        work.push(this.cache.tombstone(key, version, rule.notFound, { ttlMs: rule.ttl, name: rule.aggregateType }));
      } else {
        work.push(this.cache.set(key, event.payload, { version, ttlMs: rule.ttl, name: rule.aggregateType }));
      }
    }
    if (tags.size > 0) work.push(this.cache.invalidateTags([...tags]));
    await Promise.all(work);
  }
}
