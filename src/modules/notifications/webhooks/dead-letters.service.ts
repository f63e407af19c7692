import { redactUrl } from './redact-url.js';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Not, type Repository } from 'typeorm';
import { webhooksConfig } from '../../../config/index.js';
import { ProblemException } from '../../../infra/http/index.js';
import { enqueue, jobIdOf, QueueDriver } from '../../../infra/queue/index.js';
import { DeadLetterEntity } from './dead-letter.entity.js';
import { REPLAY_WEBHOOK, webhookJobOptions } from './webhook-delivery.job.js';
import type { ResolvedDelivery } from './webhook-delivery.job.js';
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
  async record(delivery: ResolvedDelivery, attempts: number, lastError: string): Promise<void> {
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
        delivery.eventId,
        delivery.type,
        delivery.url,
        JSON.stringify(delivery.payload),
        delivery.body,
        attempts,
        lastError.slice(0, 2000),
      ],
    );
  }

  /**
   * What a replay job sends: the dead letter `id`, only while it is claimed by a replay (a job
   * naming a letter no one replayed finds nothing), with its stored body, or for rows from
   * before migration 1764200000000 its payload serialised.
   */
  async findReplaying(where: { id: string } | { eventId: string; url: string }): Promise<ResolvedDelivery | undefined> {
    const row = await this.deadLetters.findOneBy({ ...where, replayedAt: Not(IsNull()) });
    if (row === null) return undefined;
    return {
      eventId: row.eventId,
      type: row.type,
      url: row.url,
      payload: row.payload,
      body: row.body ?? webhookBody(row.payload),
    };
  }

  /** Lists a claimed letter again (its replay could not be sent: the receiver is no longer configured). */
  async unclaim(id: string): Promise<void> {
    await this.deadLetters.update({ id }, { replayedAt: null });
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
   * Enqueues the delivery again: a `replay-webhook` job carrying the letter's id only, which sends
   * the exact body the letter stored (signed afresh at each attempt) with the same `webhook-id`
   * and a fresh set of attempts. A dead letter can be replayed once until it fails again: a second
   * replay while the first is in flight is a 409, so one click never becomes two deliveries. A
   * letter whose receiver is no longer in `WEBHOOK_URLS` is a 409 too: it would be sent nowhere.
   */
  async replay(id: string): Promise<void> {
    const letter = await this.deadLetters.findOneBy({ id });
    if (letter === null) throw new ProblemException(404, 'No dead letter has this id');
    if (!this.config.urls.includes(letter.url)) {
      throw new ProblemException(
        409,
        'The receiver of this dead letter is no longer configured in WEBHOOK_URLS; it cannot be replayed',
      );
    }
    const claimed = await this.deadLetters
      .createQueryBuilder()
      .update(DeadLetterEntity)
      .set({ replayedAt: () => 'now()' })
      .where('id = :id AND replayed_at IS NULL', { id })
      .returning('id')
      .execute();
    if ((claimed.raw as unknown[]).length === 0) {
      throw new ProblemException(
        409,
        'This dead letter has already been replayed; it is listed again if the replay fails',
      );
    }

    try {
      await enqueue(
        this.queue,
        REPLAY_WEBHOOK,
        { deadLetterId: id },
        {
          // A fresh id per replay: the previous replay's job may still be kept among the failed ones.
          jobId: jobIdOf('webhook-replay', id, String(Date.now())),
          ...webhookJobOptions(this.config),
        },
      );
    } catch (error) {
      this.logger.error(
        `could not enqueue the replay of dead letter ${id}`,
        error instanceof Error ? error.stack : error,
      );
      // Not enqueued: put it back in the list so the operator can try again.
      await this.unclaim(id).catch((unclaim: unknown) =>
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
