import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresServer } from '../../support/postgres-server.js';
import { RedisServer } from '../../support/redis-server.js';
import { type ServiceProcess, startService } from '../../support/service-process.js';
import { SmtpPeer } from '../../support/smtp-peer.js';
import { WebhookReceiver } from '../../support/webhook-receiver.js';

/** What a fault scenario needs besides PostgreSQL: each piece is private to the scenario, so it can be broken. */
export interface FaultStackOptions {
  redis?: boolean;
  webhooks?: boolean;
  smtp?: boolean;
}

export const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;

/**
 * A private PostgreSQL cluster (plus, on demand, a private Redis, a webhook receiver and an SMTP
 * peer) and the built service's instances on top of it. `close()` in afterAll stops everything,
 * whatever state the scenario left it in.
 */
export class FaultStack {
  readonly services: ServiceProcess[] = [];
  private pool: pg.Pool | undefined;

  private constructor(
    readonly postgres: PostgresServer,
    readonly redis: RedisServer | undefined,
    readonly receiver: WebhookReceiver | undefined,
    readonly smtp: SmtpPeer | undefined,
  ) {}

  static async start(options: FaultStackOptions = {}): Promise<FaultStack> {
    const parts: { stop(): Promise<void> }[] = [];
    try {
      const postgres = await PostgresServer.start();
      parts.push({ stop: () => postgres.destroy() });
      const redis = options.redis ? await RedisServer.start() : undefined;
      if (redis) parts.push(redis);
      const receiver = options.webhooks ? await WebhookReceiver.start(WEBHOOK_SECRET) : undefined;
      if (receiver) parts.push(receiver);
      const smtp = options.smtp ? await SmtpPeer.start() : undefined;
      if (smtp) parts.push(smtp);
      return new FaultStack(postgres, redis, receiver, smtp);
    } catch (error) {
      for (const part of parts.reverse()) await part.stop().catch(() => undefined);
      throw error;
    }
  }

  get databaseUrl(): string {
    return this.postgres.url('postgres');
  }

  /** The environment every instance gets: this stack's servers, short sweeper and lock timings, quiet logs. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = {
      DATABASE_URL: this.databaseUrl,
      LOG_LEVEL: 'error',
      // A dead instance's jobs and undispatched events are taken over within seconds.
      QUEUE_LOCK_DURATION_MS: '2000',
      QUEUE_STALLED_INTERVAL_MS: '1000',
      OUTBOX_SWEEP_INTERVAL_MS: '500',
      OUTBOX_SWEEP_AFTER_MS: '1500',
      WEBHOOK_BACKOFF_BASE_MS: '200',
      WEBHOOK_BACKOFF_MAX_MS: '2000',
      WEBHOOK_MAX_ATTEMPTS: '20',
      MAIL_BACKOFF_BASE_MS: '200',
      MAIL_MAX_ATTEMPTS: '20',
      SHUTDOWN_DRAIN_MS: '500',
    };
    if (this.redis) env.REDIS_URL = this.redis.url;
    if (this.receiver) {
      env.WEBHOOK_URLS = `${this.receiver.baseUrl}/hooks`;
      env.WEBHOOK_SECRET = WEBHOOK_SECRET;
    }
    if (this.smtp) env.SMTP_URL = this.smtp.url;
    return { ...env, ...extra };
  }

  /** Starts one more instance and waits for it to be ready. Instances start one at a time (migrations). */
  async startInstance(extra: Record<string, string> = {}): Promise<ServiceProcess> {
    const service = await startService(this.env(extra), 60_000);
    this.services.push(service);
    // A crash (not our SIGTERM/SIGKILL) is a finding: show what the process printed.
    void service.exited.then(({ code, signal }) => {
      if (code !== 0 && signal !== 'SIGKILL' && signal !== 'SIGTERM') {
        console.error(
          `[faults] instance ${service.url} died (code ${code}, signal ${signal}); its output ends with:\n${service.output().slice(-4000)}`,
        );
      }
    });
    return service;
  }

  /** SQL against the service's database (for comparing what the API says with the rows). */
  async query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    if (!this.pool) {
      this.pool = new pg.Pool({ connectionString: this.databaseUrl, max: 2 });
      this.pool.on('error', () => undefined); // its database is restarted and dropped under it
    }
    return (await this.pool.query<T>(sql, params)).rows;
  }

  /** Kills every instance left, then stops the servers. Never throws. */
  async close(): Promise<void> {
    for (const service of this.services) await service.stop('SIGKILL').catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
    await this.smtp?.stop().catch(() => undefined);
    await this.receiver?.stop().catch(() => undefined);
    await this.redis?.stop().catch(() => undefined);
    await this.postgres.destroy().catch(() => undefined);
  }
}

/** Seconds from the environment (`FAULT_*`), or the default that keeps the faults project short. */
export function seconds(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of seconds`);
  return value;
}
