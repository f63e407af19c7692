import { Injectable } from '@nestjs/common';

/** Resolves when the component answers; throws (or never settles) when it does not. */
export type ReadinessProbe = (signal: AbortSignal) => Promise<unknown>;

/**
 * The named checks behind `GET /health/ready`. The health module registers the database (and
 * Redis when REDIS_URL is set); any other module adds its own dependency at start-up. A probe is
 * given a short timeout and an abort signal; its error message goes to the log, never to clients.
 *
 * ```ts
 * @Injectable()
 * export class QueueHealth implements OnModuleInit {
 *   constructor(private readonly registry: HealthIndicatorRegistry, private readonly queue: Queue) {}
 *   onModuleInit(): void {
 *     this.registry.register('queue', async () => (await this.queue.client).ping());
 *   }
 * }
 * ```
 */
@Injectable()
export class HealthIndicatorRegistry {
  private readonly probes = new Map<string, ReadinessProbe>();

  /** @throws Error when the name is taken: two components must not hide behind one name. */
  register(name: string, probe: ReadinessProbe): void {
    if (!/^[a-z][a-z0-9_-]{0,39}$/.test(name))
      throw new Error(`health indicator name "${name}" must be lower-case [a-z0-9_-]`);
    if (this.probes.has(name)) throw new Error(`health indicator "${name}" is already registered`);
    this.probes.set(name, probe);
  }

  entries(): ReadonlyArray<readonly [string, ReadinessProbe]> {
    return [...this.probes.entries()];
  }
}
