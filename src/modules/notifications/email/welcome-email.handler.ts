import { Injectable, Logger } from '@nestjs/common';
import { type JobContext, JobHandler, JobName, type QueueJobHandler } from '../../../infra/queue/index.js';
import type { WelcomeEmailJob } from './welcome-email.js';
import { type SendOutcome, WelcomeEmailService } from './welcome-email.service.js';

/** Runs the welcome email job; idempotent through the `sent_emails` ledger. */
@Injectable()
@JobHandler(JobName.SendWelcomeEmail)
export class WelcomeEmailHandler implements QueueJobHandler<WelcomeEmailJob, SendOutcome> {
  private readonly logger = new Logger(WelcomeEmailHandler.name);

  constructor(private readonly emails: WelcomeEmailService) {}

  async handle(job: JobContext<WelcomeEmailJob>): Promise<SendOutcome> {
    const outcome = await this.emails.send(job.data);
    if (outcome === 'already-sent')
      this.logger.log(`welcome email for event ${job.data.eventId} was sent before: skipped`);
    // 'suppressed' was logged (rate-limited) when the user was created.
    return outcome;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the interface is async
  async onFinalFailure(job: JobContext<WelcomeEmailJob>, error: Error): Promise<void> {
    this.logger.error(
      `welcome email for event ${job.data.eventId} failed for good after ${job.attempt} attempts: ${error.message}`,
    );
  }
}
