import { Injectable, Logger } from '@nestjs/common';
import { OutboxEvents } from '../../../infra/outbox/index.js';
import { type JobContext, JobHandler, type QueueJobHandler } from '../../../infra/queue/index.js';
import { SEND_WELCOME_EMAIL, USER_CREATED, type WelcomeEmailJob, type WelcomeEmailRecipient } from './welcome-email.js';
import { type SendOutcome, WelcomeEmailService } from './welcome-email.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Runs the welcome email job; idempotent through the `sent_emails` ledger. The recipient is read
 * from the committed `user.created` event (the job carries its id only); a job naming no such
 * event is dropped unsent. Releases its hold on the event once it is finished.
 */
@Injectable()
@JobHandler(SEND_WELCOME_EMAIL)
export class WelcomeEmailHandler implements QueueJobHandler<WelcomeEmailJob, SendOutcome> {
  private readonly logger = new Logger(WelcomeEmailHandler.name);

  constructor(
    private readonly emails: WelcomeEmailService,
    private readonly outboxEvents: OutboxEvents,
  ) {}

  async handle(job: JobContext<WelcomeEmailJob>): Promise<SendOutcome> {
    const recipient = await this.recipientOf(job.data);
    if (recipient === undefined) {
      this.logger.warn(`welcome email job ${job.id} dropped, nothing sent: it names no committed user.created event`);
      return 'dropped';
    }
    const outcome = await this.emails.send(recipient);
    if (outcome === 'already-sent')
      this.logger.log(`welcome email for event ${recipient.eventId} was sent before: skipped`);
    // 'suppressed' was logged (rate-limited) when the user was created.
    await this.release(job);
    return outcome;
  }

  async onFinalFailure(job: JobContext<WelcomeEmailJob>, error: Error): Promise<void> {
    this.logger.error(
      `welcome email for event ${String(job.data.eventId)} failed for good after ${job.attempt} attempts: ${error.message}`,
    );
    await this.release(job);
  }

  /** The address and name the committed event holds; whatever else the job carries is ignored. */
  private async recipientOf(data: WelcomeEmailJob): Promise<WelcomeEmailRecipient | undefined> {
    const eventId = (data as Partial<WelcomeEmailJob>).eventId;
    if (typeof eventId !== 'string' || !UUID.test(eventId)) return undefined;
    const event = await this.outboxEvents.find(eventId);
    if (event?.type !== USER_CREATED) return undefined;
    const user = event.payload as { email?: unknown; name?: unknown };
    if (typeof user.email !== 'string' || typeof user.name !== 'string') return undefined;
    return { eventId, email: user.email, name: user.name };
  }

  private async release(job: JobContext<WelcomeEmailJob>): Promise<void> {
    const eventId = (job.data as Partial<WelcomeEmailJob>).eventId;
    if (typeof eventId !== 'string' || !UUID.test(eventId)) return;
    await this.outboxEvents
      .release(eventId, job.id)
      .catch((error: unknown) =>
        this.logger.warn(
          `hold of job ${job.id} not released: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
  }
}
