import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { mailConfig } from '../../../config/index.js';
import {
  type DomainEvent,
  type DomainEventSubscriber,
  EventSubscriber,
  type FanOutJob,
} from '../../../infra/outbox/index.js';
import { JobName, jobIdOf, QueueName } from '../../../infra/queue/index.js';
import type { UserResponseDto } from '../../users/dto/user-response.dto.js';
import { UserEvent } from '../../users/user.events.js';
import type { WelcomeEmailJob } from './welcome-email.js';

/** `user.created` → one welcome email job, its id derived from the event id. */
@Injectable()
@EventSubscriber()
export class WelcomeEmailSubscriber implements DomainEventSubscriber {
  readonly events = [UserEvent.Created];

  constructor(@Inject(mailConfig.KEY) private readonly config: ConfigType<typeof mailConfig>) {}

  jobsFor(event: DomainEvent): FanOutJob<WelcomeEmailJob>[] {
    const user = event.payload as UserResponseDto;
    return [
      {
        queue: QueueName.Notifications,
        name: JobName.SendWelcomeEmail,
        data: { eventId: event.id, email: user.email, name: user.name },
        opts: {
          jobId: jobIdOf('welcome-email', event.id),
          attempts: this.config.maxAttempts,
          backoff: { type: 'exponential', delay: this.config.backoffBaseMs, jitter: 0.5, maxDelay: 600_000 },
        },
      },
    ];
  }
}
