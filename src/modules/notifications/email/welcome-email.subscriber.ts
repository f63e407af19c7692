import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { mailConfig } from '../../../config/index.js';
import {
  type DomainEvent,
  type DomainEventSubscriber,
  EventSubscriber,
  type FanOutJob,
} from '../../../infra/outbox/index.js';
import { jobIdOf } from '../../../infra/queue/index.js';
import { SEND_WELCOME_EMAIL, USER_CREATED, type WelcomeEmailJob } from './welcome-email.js';

/** `user.created` → one welcome email job carrying the event id, its job id derived from it. */
@Injectable()
@EventSubscriber()
export class WelcomeEmailSubscriber implements DomainEventSubscriber {
  readonly events = [USER_CREATED];

  constructor(@Inject(mailConfig.KEY) private readonly config: ConfigType<typeof mailConfig>) {}

  jobsFor(event: DomainEvent): FanOutJob<WelcomeEmailJob>[] {
    return [
      {
        job: SEND_WELCOME_EMAIL,
        data: { eventId: event.id },
        // The handler reads the address and name from the outbox; it keeps the event until then.
        readsEvent: true,
        opts: {
          jobId: jobIdOf('welcome-email', event.id),
          attempts: this.config.maxAttempts,
          backoff: { type: 'exponential', delay: this.config.backoffBaseMs, jitter: 0.5, maxDelay: 600_000 },
        },
      },
    ];
  }
}
