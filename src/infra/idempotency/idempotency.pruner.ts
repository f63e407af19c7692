import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { IdempotencyStore } from './idempotency.store.js';

/** How often expired keys are deleted. Expiry itself is exact: a lookup never returns an expired row. */
const PRUNE_INTERVAL_MS = 60_000;

/** Deletes expired `idempotency_keys` rows every minute, one instance at a time (advisory lock), in batches. */
@Injectable()
export class IdempotencyPruner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('IdempotencyPruner');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly store: IdempotencyStore) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.tick(), PRUNE_INTERVAL_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.store
      .pruneExpired()
      .then((count) => {
        if (count > 0) this.logger.debug(`pruned ${count} expired idempotency key(s)`);
      })
      .catch((error: unknown) =>
        this.logger.warn(`prune failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => (this.running = undefined));
  }
}
