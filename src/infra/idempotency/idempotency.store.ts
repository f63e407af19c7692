import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { idempotencyConfig } from '../../config/index.js';

/** pg advisory lock namespace of in-flight keys ("idmp" in ASCII), with `hashtext(scope, key)` as the second half. */
const IN_FLIGHT_LOCK = 0x69646d70;
/** pg advisory lock of the prune ("idmpru" in ASCII): one instance prunes at a time. */
export const PRUNE_LOCK = 0x69646d707275;
const PRUNE_BATCH = 5000;

/** The parts of a 2xx answer a replay sends again. */
export interface StoredResponse {
  status: number;
  /** `location`, `etag`, `content-type`, when the answer had them. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface StoredOutcome extends StoredResponse {
  fingerprint: string;
}

/** What reserving a key found: it is ours now, another request holds it, or one completed it meanwhile. */
export type Reservation = 'reserved' | 'in-flight' | 'completed';

interface OutcomeRow {
  fingerprint: string;
  response_status: number;
  response_headers: Record<string, string>;
  response_body: Uint8Array | null;
}

/** The `idempotency_keys` table: one row per (scope, key), written only inside the write's own transaction. */
@Injectable()
export class IdempotencyStore {
  constructor(
    @Inject(idempotencyConfig.KEY) private readonly config: ConfigType<typeof idempotencyConfig>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** The completed, unexpired outcome stored for `key`, if any. */
  async find(scope: string, key: string): Promise<StoredOutcome | undefined> {
    const [row] = await this.dataSource.query<OutcomeRow[]>(
      `SELECT fingerprint, response_status, response_headers, response_body FROM idempotency_keys
        WHERE scope = $1 AND key = $2 AND state = 'completed' AND expires_at > now()`,
      [scope, key],
    );
    if (!row) return undefined;
    return {
      fingerprint: row.fingerprint,
      status: row.response_status,
      headers: row.response_headers,
      body: Buffer.from(row.response_body ?? new Uint8Array()),
    };
  }

  /**
   * The first statement of the write's transaction. A transaction-scoped advisory lock per key
   * tells an in-flight twin apart without waiting for it (no connection held in a queue); the
   * insert, on the primary key, then finds a twin that committed since our first look. An expired
   * row not yet pruned is taken over. One round trip: the insert reads the lock's outcome.
   */
  async reserve(manager: EntityManager, scope: string, key: string, fingerprint: string): Promise<Reservation> {
    const [row] = await manager.query<Array<{ locked: boolean; inserted: number }>>(
      `WITH lock AS (SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked),
            reserved AS (
              INSERT INTO idempotency_keys (scope, key, fingerprint, state, expires_at)
              SELECT $3, $4, $5, 'in_progress', now() + make_interval(secs => $6) FROM lock WHERE locked
              ON CONFLICT (scope, key) DO UPDATE
                SET fingerprint = EXCLUDED.fingerprint, state = 'in_progress', response_status = NULL,
                    response_headers = '{}', response_body = NULL, created_at = now(), expires_at = EXCLUDED.expires_at
                WHERE idempotency_keys.expires_at <= now()
              RETURNING 1)
       SELECT (SELECT locked FROM lock) AS locked, (SELECT count(*)::int FROM reserved) AS inserted`,
      [IN_FLIGHT_LOCK, `${scope}\n${key}`, scope, key, fingerprint, this.config.ttlMs / 1000],
    );
    if (!row?.locked) return 'in-flight';
    return row.inserted > 0 ? 'reserved' : 'completed';
  }

  /** The last statement before the commit: the reserved row gets the answer (a non-2xx one frees the key instead). */
  async complete(manager: EntityManager, scope: string, key: string, response: StoredResponse): Promise<void> {
    if (response.status < 200 || response.status > 299) {
      await manager.query(`DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2`, [scope, key]);
      return;
    }
    await manager.query(
      `UPDATE idempotency_keys SET state = 'completed', response_status = $3, response_headers = $4, response_body = $5
        WHERE scope = $1 AND key = $2`,
      [scope, key, response.status, JSON.stringify(response.headers), response.body],
    );
  }

  /**
   * Deletes expired rows, PRUNE_BATCH at a time until none is left (each batch its own short
   * transaction); resolves to how many. 0 when another instance holds the prune lock.
   */
  async pruneExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.dataSource.transaction(async (manager) => {
        const [lock] = await manager.query<Array<{ locked: boolean }>>(
          `SELECT pg_try_advisory_xact_lock($1) AS locked`,
          [PRUNE_LOCK],
        );
        if (!lock?.locked) return 0;
        const [row] = await manager.query<Array<{ count: number }>>(
          `WITH pruned AS (
             DELETE FROM idempotency_keys WHERE (scope, key) IN (
               SELECT scope, key FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)
             RETURNING 1)
           SELECT count(*)::int AS count FROM pruned`,
          [PRUNE_BATCH],
        );
        return row?.count ?? 0;
      });
      total += deleted;
      if (deleted < PRUNE_BATCH) return total;
    }
  }
}
