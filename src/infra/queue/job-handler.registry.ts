import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { JOB_HANDLER_METADATA, JobName, type QueueJobHandler } from './queue.types.js';

/** Raised at start-up when a job name has no handler, or more than one. */
export class JobHandlerRegistrationError extends Error {
  override name = 'JobHandlerRegistrationError';
}

/**
 * Finds every provider decorated with `@JobHandler(name)` and checks that each `JobName` has exactly
 * one, so a missing or doubled handler stops start-up instead of failing jobs at run time.
 */
@Injectable()
export class JobHandlerRegistry implements OnModuleInit {
  private readonly handlers = new Map<JobName, QueueJobHandler>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const found = new Map<JobName, string[]>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (!wrapper.metatype || typeof instance !== 'object' || instance === null) continue;
      const name = this.reflector.get<JobName | undefined>(JOB_HANDLER_METADATA, instance.constructor);
      if (name === undefined) continue;
      found.set(name, [...(found.get(name) ?? []), instance.constructor.name]);
      this.handlers.set(name, instance as QueueJobHandler);
    }
    const problems: string[] = [];
    for (const name of Object.values(JobName)) {
      const owners = found.get(name) ?? [];
      if (owners.length === 0) problems.push(`job "${name}" has no @JobHandler`);
      if (owners.length > 1) problems.push(`job "${name}" has ${owners.length} handlers (${owners.join(', ')})`);
    }
    if (problems.length > 0)
      throw new JobHandlerRegistrationError(`Queue handlers are misconfigured: ${problems.join('; ')}`);
  }

  handlerFor(name: JobName): QueueJobHandler {
    const handler = this.handlers.get(name);
    if (!handler) throw new JobHandlerRegistrationError(`job "${name}" has no @JobHandler`);
    return handler;
  }
}
