import { redactUrl } from './redact-url.js';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type Repository } from 'typeorm';
import { webhooksConfig } from '../../../config/index.js';
import { ProblemException } from '../../../infra/http/index.js';
import { JobName, jobIdOf, QueueDriver, QueueName } from '../../../infra/queue/index.js';
import { DeadLetterEntity } from './dead-letter.entity.js';
import { webhookJobOptions, type WebhookDeliveryJob } from './webhook-delivery.job.js';
import { webhookBody } from './webhook-signer.js';

/** A dead letter as GET /admin/dead-letters lists it. */
export interface DeadLetterView {
  id: string;
  eventId: string;
  type: string;
  url: string;
  attempts: number;
  lastError: string;
  failedAt: string;
}

/** The listing is for an operator's eyes, newest first; older ones stay in the table. */
const LIST_LIMIT = 1000;

/**
 * Deliveries that failed their last attempt. Each (event, URL) has at most one row: a replay that
 * fails again updates it (attempts add up) instead of adding a second one.
 */
@Injectable()
export class DeadLettersService {
  private readonly logger = new Logger(DeadLettersService.name);

  constructor(
    @InjectRepository(DeadLetterEntity) private readonly deadLetters: Repository<DeadLetterEntity>,
    @Inject(QueueDriver) private readonly queue: QueueDriver,
    @Inject(webhooksConfig.KEY) private readonly config: ConfigType<typeof webhooksConfig>,
  ) {}

  /**
   * Records (or re-records, after a failed replay) a delivery that has run out of attempts, with
   * `body`, the exact bytes it sent, for the replay to send again.
   */
  async record(delivery: WebhookDeliveryJob, body: string, attempts: number, lastError: string): Promise<void> {
    await this.deadLetters.query(
      `INSERT INTO "webhook_dead_letters" ("event_id", "type", "url", "payload", "body", "attempts", "last_error", "failed_at")
       VALUES ($1, $2, $3, $4, $5, $6, $7, now())
       ON CONFLICT ("event_id", "url") DO UPDATE
         SET "body" = EXCLUDED."body",
             "attempts" = "webhook_dead_letters"."attempts" + EXCLUDED."attempts",
             "last_error" = EXCLUDED."last_error",
             "failed_at" = EXCLUDED."failed_at",
             "replayed_at" = NULL`,
      [
        delivery.event.id,
        delivery.event.type,
        delivery.url,
        JSON.stringify(delivery.event),
        body,
        attempts,
        lastError.slice(0, 2000),
      ],
    );
  }

  /** Dead letters not replayed yet, newest first. */
  async list(): Promise<DeadLetterView[]> {
    const rows = await this.deadLetters.find({
      where: { replayedAt: IsNull() },
      order: { failedAt: 'DESC', id: 'ASC' },
      take: LIST_LIMIT,
    });
    return rows.map(toView);
  }

  /**
   * Enqueues the delivery again with the same event (hence the same `webhook-id`), the exact body
   * it sent (signed afresh at each attempt) and a fresh set of attempts. A dead letter can be
   * replayed once until it fails again: a second replay while the first is in flight is a 409,
   * so one click never becomes two deliveries.
   */
  async replay(id: string): Promise<void> {
    const claimed = await this.deadLetters
      .createQueryBuilder()
      .update(DeadLetterEntity)
      .set({ replayedAt: () => 'now()' })
      .where('id = :id AND replayed_at IS NULL', { id })
      .returning('*')
      .execute();
    const row = (claimed.raw as RawDeadLetter[])[0];
    if (row === undefined) {
      const exists = await this.deadLetters.existsBy({ id });
      if (!exists) throw new ProblemException(404, 'No dead letter has this id');
      throw new ProblemException(
        409,
        'This dead letter has already been replayed; it is listed again if the replay fails',
      );
    }

    // Rows from before the body was kept fall back to the payload serialised (jsonb key order).
    const delivery: WebhookDeliveryJob = {
      event: row.payload,
      url: row.url,
      body: row.body ?? webhookBody(row.payload),
    };
    try {
      await this.queue.add(QueueName.Notifications, JobName.DeliverWebhook, delivery, {
        // A fresh id per replay: the original job may still be kept among the failed ones.
        jobId: jobIdOf('webhook', row.event_id, row.url, `replay-${Date.now()}`),
        ...webhookJobOptions(this.config),
      });
    } catch (error) {
      this.logger.error(
        `could not enqueue the replay of dead letter ${id}`,
        error instanceof Error ? error.stack : error,
      );
      // Not enqueued: put it back in the list so the operator can try again.
      await this.deadLetters
        .update({ id }, { replayedAt: null })
        .catch((unclaim: unknown) =>
          this.logger.error(
            `dead letter ${id} stays claimed (replayed_at set) and must be reset by hand`,
            unclaim instanceof Error ? unclaim.stack : unclaim,
          ),
        );
      throw new ProblemException(503, 'The queue is unavailable; try the replay again shortly', {
        headers: { 'retry-after': '5' },
      });
    }
  }
}

interface RawDeadLetter {
  id: string;
  event_id: string;
  url: string;
  payload: WebhookDeliveryJob['event'];
  body: string | null;
}

function toView(row: DeadLetterEntity): DeadLetterView {
  return {
    id: row.id,
    eventId: row.eventId,
    type: row.type,
    url: redactUrl(row.url),
    attempts: row.attempts,
    lastError: row.lastError,
    failedAt: row.failedAt.toISOString(),
  };
}
