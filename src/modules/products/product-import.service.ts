import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { queueConfig } from '../../config/index.js';
import { ProblemException } from '../../infra/http/index.js';
import { UnitOfWork } from '../../infra/outbox/index.js';
import { enqueue, QueueDriver } from '../../infra/queue/index.js';
import { IMPORT_PRODUCTS } from './product-import.job.js';

/** pg advisory lock namespace of the per-client import count ("impt" in ASCII). */
const IMPORT_CLIENT_LOCK = 0x696d7074;
/**
 * pg advisory lock namespace of one import's staging transaction ("stgd"), keyed by import id: the
 * job waits on it, since an idempotent request commits only once its answer is rendered, after the enqueue.
 */
export const IMPORT_STAGING_LOCK = 0x73746764;

/**
 * An import older than this no longer counts against its client's limit: its job was lost (a
 * Redis that restarted empty) or the queue is that far behind. The rows are pruned after a day.
 */
const STALE_IMPORT_SECONDS = 3600;

/** How a 429 tells the client to wait while another of its imports is being started (staged). */
const STARTING_RETRY_AFTER_SECONDS = 1;
/** How a 429 tells the client when to try again: about the time a large import takes. */
const RETRY_AFTER_SECONDS = 10;

/** Who started an import: `key` for the per-client limit, `apiKeyName` for who may read its job. */
export interface ImportClient {
  key: string;
  apiKeyName: string | undefined;
}

/**
 * Starts a bulk import: the items are staged once in PostgreSQL (`product_import_items`), in the
 * request's transaction, and the job carries only the import id. A client may have
 * IMPORT_MAX_CONCURRENT_PER_CLIENT imports waiting or running at once, counted in the same
 * table under an advisory lock, so the limit holds across instances without Redis.
 */
@Injectable()
export class ProductImportService {
  private readonly logger = new Logger(ProductImportService.name);

  constructor(
    @Inject(queueConfig.KEY) private readonly config: ConfigType<typeof queueConfig>,
    private readonly unitOfWork: UnitOfWork,
    @Inject(QueueDriver) private readonly queue: QueueDriver,
  ) {}

  /** Resolves to the job id (= import id) GET /v1/jobs/{id} takes. */
  async start(items: unknown[], client: ImportClient): Promise<string> {
    const importId = randomUUID();
    await this.unitOfWork.run(async ({ manager }) => {
      // Serialises one client's starts (not other clients'), so two instances cannot both take the
      // last slot. Tried, not waited for: the lock is held while the items are staged (seconds for
      // a large body), and starts queueing behind it would each hold a pool connection until the
      // pool ran dry and other requests got 503. A start that finds it taken is told to retry.
      const [lock] = await manager.query<Array<{ taken: boolean }>>(
        `SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS taken`,
        [IMPORT_CLIENT_LOCK, client.key],
      );
      if (lock?.taken !== true) {
        throw new ProblemException(429, 'Another import from this client is being started; retry in a moment', {
          headers: { 'retry-after': String(STARTING_RETRY_AFTER_SECONDS) },
        });
      }
      await manager.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [IMPORT_STAGING_LOCK, importId]);
      const [row] = await manager.query<Array<{ running: number }>>(
        `SELECT count(*)::int AS running FROM product_imports
          WHERE client = $1 AND failed_at IS NULL AND created_at > now() - make_interval(secs => $2)`,
        [client.key, STALE_IMPORT_SECONDS],
      );
      const limit = this.config.imports.maxConcurrentPerClient;
      if ((row?.running ?? 0) >= limit) {
        throw new ProblemException(
          429,
          `At most ${limit} imports per client may be waiting or running at once; retry when one has finished`,
          {
            headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
          },
        );
      }
      await manager.query(`INSERT INTO product_imports (id, client, item_count) VALUES ($1, $2, $3)`, [
        importId,
        client.key,
        items.length,
      ]);
      // One statement for every item: the body goes over as one JSON parameter and is split by PostgreSQL.
      await manager.query(
        `INSERT INTO product_import_items (import_id, position, item)
         SELECT $1, ordinality - 1, value FROM json_array_elements($2::json) WITH ORDINALITY`,
        [importId, JSON.stringify(items)],
      );
    });
    try {
      // One attempt, as declared (product-import.job.ts).
      await enqueue(
        this.queue,
        IMPORT_PRODUCTS,
        { importId, owner: client.apiKeyName ?? null },
        { jobId: importId, keepMs: this.config.imports.keepMs },
      );
    } catch (error) {
      // Not acknowledged, so nothing is lost: drop the staged items and say so. Through the unit of
      // work, so that inside an idempotent request's still-open transaction it joins that one
      // (PGlite's single connection is held by it: a query beside it would wait forever).
      await this.unitOfWork
        .run(({ manager }) => manager.query(`DELETE FROM product_imports WHERE id = $1`, [importId]))
        .catch((cleanup: unknown) =>
          // Left behind, the row counts against its client's limit until it is stale: say so.
          this.logger.warn(
            `import ${importId} not started, and its staged rows could not be removed: ${cleanup instanceof Error ? cleanup.message : String(cleanup)}`,
          ),
        );
      throw new ProblemException(503, 'The job queue is unavailable; the import was not started, try again shortly', {
        headers: { 'retry-after': '5' },
        cause: error,
      });
    }
    return importId;
  }
}
