import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { EntityManager } from 'typeorm';
import { mailConfig } from '../../config/index.js';
import { MetricsService } from '../../infra/metrics/index.js';
import { RateLimitStore, RateLimiterUnavailableError, type TierLimit } from '../../infra/throttle/index.js';

/** Why a welcome email is not sent. */
export type WelcomeEmailRefusal = 'client-limit' | 'limiter-unavailable';

/** The decision for one user creation, taken before its transaction. */
export interface WelcomeEmailDecision {
  /** The client as the rate limiter names it (`key:<name>` or `ip:<address>`). */
  client: string;
  refusedBy?: WelcomeEmailRefusal;
}

/** At most one warning line per this many ms: a mail-bombing client must not flood the log too. */
const WARN_EVERY_MS = 10_000;

/**
 * The per-client limit on welcome emails (`WELCOME_EMAIL_LIMIT` per `WELCOME_EMAIL_TTL_SECONDS`):
 * creating a user sends a message to an address the client chose, so without it one client
 * could use the service to mail-bomb. Counted in the rate limiter's store (Redis when set, so the
 * limit holds across every instance; its fail mode when Redis is down), per client as the rate
 * limiter sees it. Past the limit the user is still created: the decision is written to the
 * `sent_emails` ledger as `suppressed` in the user's own transaction, and the email job, finding
 * that row, sends nothing.
 *
 * ```ts
 * const welcome = await quota.decide(clientKeyOf(request));          // before the transaction
 * await unitOfWork.run(async (tx) => {
 *   const event = tx.emit(userAggregate, 'created', user);
 *   await quota.record(tx, welcome, event.id, user.email);            // a `suppressed` row when refused
 * });
 * ```
 */
@Injectable()
export class WelcomeEmailQuota {
  private readonly logger = new Logger('WelcomeEmail');
  private readonly tiers: TierLimit[];
  private suppressedSinceWarning = 0;
  private lastWarning = 0;

  constructor(
    @Inject(mailConfig.KEY) private readonly config: ConfigType<typeof mailConfig>,
    @Inject(RateLimitStore) private readonly store: RateLimitStore,
    private readonly metrics: MetricsService,
  ) {
    const { limit, windowMs } = config.welcomeLimit;
    this.tiers = limit > 0 ? [{ name: 'welcome-email', bucket: 'welcome-email', limit, windowMs }] : [];
  }

  /**
   * Counts one welcome email against `client` if it has room. Counted when asked, so a creation
   * that then fails (a duplicate email) still counts: that errs towards fewer emails.
   */
  async decide(client: string): Promise<WelcomeEmailDecision> {
    if (this.tiers.length === 0) return { client };
    try {
      const result = await this.store.consume(client, this.tiers);
      return result.allowed ? { client } : { client, refusedBy: 'client-limit' };
    } catch (error) {
      // `closed` fail mode with Redis down, or a store failure: never fail the write, and never
      // send unlimited; the email is the thing given up.
      if (!(error instanceof RateLimiterUnavailableError)) {
        this.logger.error('welcome email limiter failed', error instanceof Error ? error.stack : error);
      }
      return { client, refusedBy: 'limiter-unavailable' };
    }
  }

  /**
   * In the user's transaction: a refused decision becomes the ledger row `suppressed` for the
   * event, so the email job sends nothing; logged and counted once the transaction committed.
   */
  async record(
    tx: { manager: EntityManager; afterCommit(work: () => void): void },
    decision: WelcomeEmailDecision,
    eventId: string,
    recipient: string,
  ): Promise<void> {
    const reason = decision.refusedBy;
    if (reason === undefined) return;
    await tx.manager.query(
      `INSERT INTO "sent_emails" ("event_id", "kind", "recipient", "status") VALUES ($1, 'welcome', $2, 'suppressed')
       ON CONFLICT DO NOTHING`,
      [eventId, recipient],
    );
    tx.afterCommit(() => {
      this.metrics.welcomeEmailsSuppressed.inc({ reason });
      this.warn(decision.client, reason, eventId);
    });
  }

  private warn(client: string, reason: WelcomeEmailRefusal, eventId: string): void {
    this.suppressedSinceWarning += 1;
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    const { limit, windowMs } = this.config.welcomeLimit;
    const why =
      reason === 'client-limit'
        ? `client ${client} is over its limit of ${limit} per ${windowMs / 1000} s`
        : 'the rate limiter is unavailable';
    this.logger.warn(
      `welcome email for event ${eventId} not sent: ${why} (${this.suppressedSinceWarning} not sent since the last such line; welcome_emails_suppressed_total counts all)`,
    );
    this.lastWarning = now;
    this.suppressedSinceWarning = 0;
  }
}
