import { Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import {
  type Aggregate,
  type AggregateChange,
  type AggregateState,
  DeclaredAggregates,
  UnitOfWork,
} from '../outbox/index.js';
import { CacheService } from './cache.service.js';

/** How one aggregate's committed changes reach the cache. */
export interface WriteThroughLayout {
  /** The entry key of one entity: the key its `@Cached` get-by-id route builds. */
  key: (id: string) => string;
  /** Tags invalidated by any change (the list routes' tags). */
  tags?: readonly string[];
  /** The 404 detail a tombstone answers with (the same as the handler's). */
  notFound: string;
  /** TTL of written entries in ms; the module default when omitted. */
  ttl?: number;
}

/**
 * An aggregate descriptor with its cache layout: the one object a feature passes to `tx.emit`,
 * `OutboxModule.forFeature` and `CacheModule.forFeature`, so the emitted type and the cached one
 * cannot differ.
 *
 * ```ts
 * export const productAggregate: CachedAggregate<ProductResponseDto, 'product'> = {
 *   type: 'product',
 *   cache: { key: productKey, tags: ['products'], notFound: 'Product not found' },
 * };
 * ```
 */
export interface CachedAggregate<
  TState extends AggregateState = AggregateState,
  TType extends string = string,
> extends Aggregate<TState, TType> {
  readonly cache: WriteThroughLayout;
}

/** Whether a descriptor carries a cache layout, i.e. expects a write-through rule. */
function hasCacheLayout(aggregate: Aggregate): aggregate is CachedAggregate {
  const layout = (aggregate as Partial<CachedAggregate>).cache;
  return typeof layout === 'object' && layout !== null && typeof layout.key === 'function';
}

/**
 * What start-up refuses, one line each: a write-through rule for an aggregate no module declares it
 * emits (the rule would never fire), and an emitted aggregate with a cache layout but no rule (its
 * `@Cached` entries would go stale after every write until their TTL).
 */
export function writeThroughMismatches(emitted: readonly Aggregate[], rules: readonly CachedAggregate[]): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    if (!emitted.includes(rule))
      problems.push(
        `cache write-through rule for aggregate "${rule.type}", which no module emits (OutboxModule.forFeature)`,
      );
  }
  for (const aggregate of emitted) {
    if (hasCacheLayout(aggregate) && !rules.includes(aggregate))
      problems.push(
        `aggregate "${aggregate.type}" has a cache layout and is emitted, but has no write-through rule (CacheModule.forFeature)`,
      );
  }
  return problems;
}

/** Transactions with more events than this (bulk imports) only invalidate tags for their creations. */
const MAX_CREATED_WRITES = 100;

/** Collects the aggregates every `CacheModule.forFeature` declares. */
@Injectable()
export class WriteThroughRegistry {
  private readonly rules = new Map<string, CachedAggregate>();

  add(rules: readonly CachedAggregate[]): void {
    for (const rule of rules) {
      if (this.rules.has(rule.type)) throw new Error(`Two cache write-through rules for aggregate type "${rule.type}"`);
      this.rules.set(rule.type, rule);
    }
  }

  /** The rule of this very descriptor (not merely one of the same name). */
  ruleFor(aggregate: Aggregate): CachedAggregate | undefined {
    const rule = this.rules.get(aggregate.type);
    return rule === aggregate ? rule : undefined;
  }

  all(): readonly CachedAggregate[] {
    return [...this.rules.values()];
  }
}

/**
 * Write-through after commit: for each committed change with a rule, stores the entity's new state
 * (`deleted`: a tombstone) version-guarded, and invalidates the rule's tags, all before the write
 * is acknowledged. A rolled-back transaction emits nothing, so it touches nothing here.
 */
@Injectable()
export class WriteThroughListener implements OnModuleInit {
  private readonly logger = new Logger('Cache');

  constructor(
    private readonly registry: WriteThroughRegistry,
    private readonly cache: CacheService,
    @Optional() private readonly unitOfWork?: UnitOfWork,
    @Optional() private readonly declared?: DeclaredAggregates,
  ) {}

  onModuleInit(): void {
    // Checked whether or not the cache is on: the wiring is the same in every environment.
    if (this.declared !== undefined) {
      const problems = writeThroughMismatches(this.declared.all(), this.registry.all());
      if (problems.length > 0) throw new Error(`Cache write-through misconfigured: ${problems.join('; ')}`);
    }
    if (!this.cache.enabled) return;
    if (this.unitOfWork === undefined) {
      this.logger.warn('No UnitOfWork: cache write-through is off');
      return;
    }
    this.unitOfWork.onCommitted(({ changes }) => this.apply(changes));
  }

  /** Never throws: the cache service counts and logs its own failures. */
  async apply(changes: readonly AggregateChange[]): Promise<void> {
    const latest = new Map<string, { rule: CachedAggregate; change: AggregateChange }>();
    const tags = new Set<string>();
    const bulk = changes.length > MAX_CREATED_WRITES;
    for (const change of changes) {
      const rule = this.registry.ruleFor(change.aggregate);
      if (rule === undefined) continue;
      for (const tag of rule.cache.tags ?? []) tags.add(tag);
      if (bulk && change.kind === 'created') continue;
      latest.set(rule.cache.key(change.event.aggregateId), { rule, change });
    }
    const work: Array<Promise<unknown>> = [];
    for (const [key, { rule, change }] of latest) {
      const { version } = change.event.payload;
      const entry = { ttlMs: rule.cache.ttl, name: rule.type };
      if (change.kind === 'deleted') work.push(this.cache.tombstone(key, version, rule.cache.notFound, entry));
      else work.push(this.cache.set(key, change.event.payload, { version, ...entry }));
    }
    if (tags.size > 0) work.push(this.cache.invalidateTags([...tags]));
    await Promise.all(work);
  }
}
