import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { type DeclaredJobsView, declaredJobsView } from './drivers/job-ids.js';
import {
  DeclaredJobs,
  JOB_HANDLER_METADATA,
  type JobDefinition,
  type JobOptions,
  type QueueDefinition,
  type QueueJobHandler,
} from './queue.types.js';

/** Raised at start-up when the declared jobs and the handlers do not match one to one. */
export class JobHandlerRegistrationError extends Error {
  override name = 'JobHandlerRegistrationError';
}

interface Catalog {
  jobs: Map<string, JobDefinition>;
  queues: Map<string, QueueDefinition>;
  view: DeclaredJobsView;
  handlers: Map<string, QueueJobHandler>;
  problems: string[];
}

/**
 * Every job the feature modules declared (`provideJobs`), their queues, and their handlers
 * (`@JobHandler`), found among the application's providers. Read on first use (the drivers may
 * ask before this module's init hook ran), and checked at start-up: every declared job has
 * exactly one handler, every handler's job is declared, and a queue name has one definition.
 */
@Injectable()
export class JobCatalog implements OnModuleInit, DeclaredJobsView {
  private catalog: Catalog | undefined;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const { problems } = this.read();
    if (problems.length > 0)
      throw new JobHandlerRegistrationError(`Queue handlers are misconfigured: ${problems.join('; ')}`);
  }

  /** The declared queues, in declaration order. */
  queues(): readonly QueueDefinition[] {
    return this.read().view.queues();
  }

  queue(name: string): QueueDefinition | undefined {
    return this.read().queues.get(name);
  }

  handlerFor(name: string): QueueJobHandler {
    const handler = this.read().handlers.get(name);
    if (!handler) throw new JobHandlerRegistrationError(`job "${name}" has no @JobHandler`);
    return handler;
  }

  /** The options an `add` stores: the job's declared defaults under the caller's. Refuses undeclared or misplaced jobs. */
  optionsOf(queue: string, name: string, opts: JobOptions): JobOptions {
    return this.read().view.optionsOf(queue, name, opts);
  }

  private read(): Catalog {
    this.catalog ??= this.scan();
    return this.catalog;
  }

  private scan(): Catalog {
    const catalog: Catalog = {
      jobs: new Map(),
      queues: new Map(),
      view: declaredJobsView([]),
      handlers: new Map(),
      problems: [],
    };
    const handlersOf = new Map<string, string[]>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (instance instanceof DeclaredJobs) {
        for (const job of instance.jobs) this.declare(catalog, job);
        continue;
      }
      if (!wrapper.metatype || typeof instance !== 'object' || instance === null) continue;
      const job = this.reflector.get<JobDefinition | undefined>(JOB_HANDLER_METADATA, instance.constructor);
      if (job === undefined) continue;
      handlersOf.set(job.name, [...(handlersOf.get(job.name) ?? []), instance.constructor.name]);
      catalog.handlers.set(job.name, instance as QueueJobHandler);
    }
    for (const name of catalog.jobs.keys()) {
      const owners = handlersOf.get(name) ?? [];
      if (owners.length === 0) catalog.problems.push(`job "${name}" has no @JobHandler`);
      if (owners.length > 1)
        catalog.problems.push(`job "${name}" has ${owners.length} handlers (${owners.join(', ')})`);
    }
    for (const [name, owners] of handlersOf) {
      if (!catalog.jobs.has(name))
        catalog.problems.push(
          `job "${name}" has a @JobHandler (${owners.join(', ')}) but is not declared (provideJobs)`,
        );
    }
    catalog.view = declaredJobsView([...catalog.jobs.values()]);
    return catalog;
  }

  private declare(catalog: Catalog, job: JobDefinition): void {
    const known = catalog.jobs.get(job.name);
    if (known && known !== job) catalog.problems.push(`job "${job.name}" is declared twice`);
    catalog.jobs.set(job.name, job);
    const queue = catalog.queues.get(job.queue.name);
    if (queue && queue !== job.queue && !sameQueue(queue, job.queue))
      catalog.problems.push(`queue "${job.queue.name}" is declared twice with different settings`);
    if (!queue) catalog.queues.set(job.queue.name, job.queue);
  }
}

const sameQueue = (a: QueueDefinition, b: QueueDefinition): boolean =>
  a.workers === b.workers && (a.reported ?? false) === (b.reported ?? false);
