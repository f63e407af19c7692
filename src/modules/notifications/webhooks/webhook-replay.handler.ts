import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { webhooksConfig } from '../../../config/index.js';
import { type JobContext, JobHandler, type QueueJobHandler } from '../../../infra/queue/index.js';
import { DeadLettersService } from './dead-letters.service.js';
import { isUuid, REPLAY_WEBHOOK, type WebhookReplayJob } from './webhook-delivery.job.js';
import type { ResolvedDelivery } from './webhook-delivery.job.js';
import { WebhookDeliveryService, WebhookDroppedError, WebhookGoneError } from './webhook-delivery.service.js';

/**
 * One attempt of a replay (`POST /admin/dead-letters/{id}/replay`): the job carries the dead
 * letter's id; the letter's stored bytes are sent to its receiver with the same `webhook-id`,
 * signed afresh. A letter that is not being replayed, or whose receiver is no longer configured,
 * is sent nowhere. After the last attempt the letter is listed again, attempts added up.
 */
@Injectable()
@JobHandler(REPLAY_WEBHOOK)
export class WebhookReplayHandler implements QueueJobHandler<WebhookReplayJob> {
  private readonly logger = new Logger(WebhookReplayHandler.name);

  constructor(
    @Inject(webhooksConfig.KEY) private readonly config: ConfigType<typeof webhooksConfig>,
    private readonly delivery: WebhookDeliveryService,
    private readonly deadLetters: DeadLettersService,
  ) {}

  async handle(job: JobContext<WebhookReplayJob>): Promise<void> {
    const resolved = await this.resolve(job.data);
    if (typeof resolved === 'string') throw this.delivery.drop(job, resolved);
    await this.delivery.attempt(resolved, job);
  }

  async onFinalFailure(job: JobContext<WebhookReplayJob>, error: Error): Promise<void> {
    if (error instanceof WebhookGoneError || error instanceof WebhookDroppedError) return;
    const resolved = await this.resolve(job.data);
    if (typeof resolved === 'string') {
      this.logger.warn(`${job.id}: not dead-lettered again, ${resolved}`);
      return;
    }
    await this.delivery.deadLetter(resolved, job.attempt, error);
  }

  private async resolve(data: WebhookReplayJob): Promise<ResolvedDelivery | string> {
    const id = (data as Partial<WebhookReplayJob>).deadLetterId;
    if (!isUuid(id)) return 'the job data is not { deadLetterId }';
    const letter = await this.deadLetters.findReplaying({ id });
    if (letter === undefined) return `dead letter ${id} is not being replayed`;
    if (!this.config.urls.includes(letter.url)) {
      // Listed again, so the operator sees it; replaying it is refused until the receiver is back.
      await this.deadLetters.unclaim(id);
      return `the receiver of dead letter ${id} is no longer in WEBHOOK_URLS`;
    }
    return letter;
  }
}
