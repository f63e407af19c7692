import { Injectable } from '@nestjs/common';
import type { Aggregate } from './aggregate.js';

/**
 * The aggregates the feature modules declare they emit (`OutboxModule.forFeature`). `tx.emit`
 * refuses any other, so this list is the truth about what the app emits, and infra that reacts to
 * changes checks its own declarations against it at start-up (the cache's write-through rules).
 */
@Injectable()
export class DeclaredAggregates {
  private readonly byType = new Map<string, Aggregate>();

  add(aggregates: readonly Aggregate[]): void {
    for (const aggregate of aggregates) {
      const known = this.byType.get(aggregate.type);
      // One descriptor per type: two would let infra read one while features emit the other.
      if (known !== undefined && known !== aggregate)
        throw new Error(`Two aggregate descriptors for type "${aggregate.type}": declare one and share it`);
      this.byType.set(aggregate.type, aggregate);
    }
  }

  /** Whether `aggregate` (this very descriptor) was declared. */
  has(aggregate: Aggregate): boolean {
    return this.byType.get(aggregate.type) === aggregate;
  }

  all(): readonly Aggregate[] {
    return [...this.byType.values()];
  }
}
