import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '../../infra/outbox/index.js';
import { provideJobs } from '../../infra/queue/index.js';
import { MailTransport, mailTransportProvider } from './email/mail-transport.js';
import { SentEmailEntity } from './email/sent-email.entity.js';
import { SEND_WELCOME_EMAIL } from './email/welcome-email.js';
import { WelcomeEmailHandler } from './email/welcome-email.handler.js';
import { WelcomeEmailService } from './email/welcome-email.service.js';
import { WelcomeEmailSubscriber } from './email/welcome-email.subscriber.js';
import { DeadLetterEntity } from './webhooks/dead-letter.entity.js';
import { DeadLettersController } from './webhooks/dead-letters.controller.js';
import { DeadLettersService } from './webhooks/dead-letters.service.js';
import { DELIVER_WEBHOOK, REPLAY_WEBHOOK } from './webhooks/webhook-delivery.job.js';
import { WebhookDeliveryHandler } from './webhooks/webhook-delivery.handler.js';
import { WebhookDeliveryService } from './webhooks/webhook-delivery.service.js';
import { WebhookFanOutSubscriber } from './webhooks/webhook-fan-out.subscriber.js';
import { WebhookReplayHandler } from './webhooks/webhook-replay.handler.js';

/**
 * Side effects of domain events: signed webhooks to every `WEBHOOK_URLS` receiver (with retries
 * and dead letters, replayable under /admin/dead-letters) and the welcome email on `user.created`
 * (limited per client by the users module's `WelcomeEmailQuota`, decided where the client is
 * known: the request that creates the user).
 * Its jobs run on its own `notifications` queue (notifications.queue.ts); the queue module finds
 * the declared jobs (`provideJobs`), the subscribers and the handlers among these providers.
 */
@Module({
  imports: [TypeOrmModule.forFeature([DeadLetterEntity, SentEmailEntity]), OutboxModule],
  controllers: [DeadLettersController],
  providers: [
    provideJobs(DELIVER_WEBHOOK, REPLAY_WEBHOOK, SEND_WELCOME_EMAIL),
    WebhookFanOutSubscriber,
    WebhookDeliveryService,
    WebhookDeliveryHandler,
    WebhookReplayHandler,
    DeadLettersService,
    mailTransportProvider,
    WelcomeEmailService,
    WelcomeEmailSubscriber,
    WelcomeEmailHandler,
  ],
})
export class NotificationsModule implements OnApplicationShutdown {
  constructor(@Inject(MailTransport) private readonly transport: MailTransport) {}

  /** Closes pooled SMTP connections; workers have stopped by now. */
  onApplicationShutdown(): void {
    this.transport.close();
  }
}
