import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { type ArgumentMetadata, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { queueConfig } from '../../config/index.js';
import { isUniqueViolation } from '../../infra/database/index.js';
import { AppValidationPipe, type FieldError, ProblemException } from '../../infra/http/index.js';
import { UnitOfWork } from '../../infra/outbox/index.js';
import { type JobContext, JobHandler, PermanentJobError, type QueueJobHandler } from '../../infra/queue/index.js';
import { CreateProductDto } from './dto/create-product.dto.js';
import type { ImportProductsJob, ImportProductsResult } from './dto/import-products.dto.js';
import { SKU_UNIQUE_INDEX } from './product.entity.js';
import { IMPORT_PRODUCTS } from './product-import.job.js';
import { IMPORT_STAGING_LOCK } from './product-import.service.js';
import { ProductsService } from './products.service.js';

const SKU_TAKEN: FieldError = { field: 'sku', message: 'is already taken' };

/** Validation runs in slices of at most this long, then yields, so HTTP requests are served in between. */
const VALIDATION_SLICE_MS = 10;

/** Staged imports whose job never ran (the process died between commit and enqueue) are deleted after this. */
const ABANDONED_IMPORT_SECONDS = 86_400;

interface ValidItem {
  index: number;
  input: CreateProductDto;
}

interface ImportRun {
  failed: ImportProductsResult['failed'];
  firstIndexOfSku: Map<string, number>;
  created: number;
}

/**
 * The bulk import job: reads the staged items IMPORT_BATCH_SIZE at a time, validates each with
 * POST /v1/products' rules (in slices that yield to the event loop), inserts the valid ones of a
 * batch in one transaction with their `product.created` events, reports progress, deletes the
 * staged rows, and returns `{ created, failed: [{ index, errors }] }`.
 */
@Injectable()
@JobHandler(IMPORT_PRODUCTS)
export class ProductImportProcessor implements QueueJobHandler<ImportProductsJob, ImportProductsResult> {
  constructor(
    @Inject(queueConfig.KEY) private readonly config: ConfigType<typeof queueConfig>,
    private readonly products: ProductsService,
    private readonly unitOfWork: UnitOfWork,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async handle(job: JobContext<ImportProductsJob>): Promise<ImportProductsResult> {
    const { importId } = job.data;
    // Waits for the staging transaction, should it still be open (ProductImportService).
    await this.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [IMPORT_STAGING_LOCK, importId]);
    await this.query(`DELETE FROM product_imports WHERE created_at < now() - make_interval(secs => $1)`, [
      ABANDONED_IMPORT_SECONDS,
    ]);
    const [staged] = await this.query<{ item_count: number }>(`SELECT item_count FROM product_imports WHERE id = $1`, [
      importId,
    ]);
    if (!staged) throw new PermanentJobError('the staged items of this import are gone (abandoned for over a day)');
    try {
      const run: ImportRun = { failed: [], firstIndexOfSku: new Map(), created: 0 };
      const batchSize = this.config.imports.batchSize;
      for (let from = 0; from < staged.item_count; from += batchSize) {
        const rows = await this.query<{ position: number; item: unknown }>(
          `SELECT position, item FROM product_import_items WHERE import_id = $1 AND position >= $2 AND position < $3 ORDER BY position`,
          [importId, from, from + batchSize],
        );
        const valid = await this.validateBatch(rows, run);
        run.created += await this.insertBatch(valid, run.failed);
        await job.updateProgress(Math.floor((Math.min(from + batchSize, staged.item_count) / staged.item_count) * 100));
      }
      run.failed.sort((a, b) => a.index - b.index);
      // Done: the items are no longer needed, and the client's slot is free.
      await this.query(`DELETE FROM product_imports WHERE id = $1`, [importId]);
      await job.updateProgress(100);
      return { created: run.created, failed: run.failed };
    } catch (error) {
      // The slot is freed, the items kept: an attempt cut short by a shutdown or a crash is run
      // again (stalled-job recovery) and reads them; a day later they are pruned.
      await this.query(`UPDATE product_imports SET failed_at = now() WHERE id = $1`, [importId]).catch(() => undefined);
      throw error;
    }
  }

  /** Validates one batch, yielding every VALIDATION_SLICE_MS; skus repeated within the import fail after their first. */
  private async validateBatch(rows: Array<{ position: number; item: unknown }>, run: ImportRun): Promise<ValidItem[]> {
    const valid: ValidItem[] = [];
    let sliceStart = performance.now();
    for (const { position: index, item } of rows) {
      if (performance.now() - sliceStart > VALIDATION_SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
      const { input, errors } = await validateItem(item);
      if (!input) {
        run.failed.push({ index, errors });
        continue;
      }
      const sku = input.sku.toLowerCase();
      const first = run.firstIndexOfSku.get(sku);
      if (first !== undefined) {
        run.failed.push({ index, errors: [{ field: 'sku', message: `duplicates the sku of item ${first}` }] });
        continue;
      }
      run.firstIndexOfSku.set(sku, index);
      valid.push({ index, input });
    }
    return valid;
  }

  /** One transaction for the batch; if a sku turns out to be taken, item by item to find which. */
  private async insertBatch(batch: ValidItem[], failed: ImportProductsResult['failed']): Promise<number> {
    if (batch.length === 0) return 0;
    try {
      return await this.unitOfWork.run(async (tx) => {
        for (const { input } of batch) await this.products.insertWithEvent(tx, input);
        return batch.length;
      });
    } catch (error) {
      if (!isUniqueViolation(error, SKU_UNIQUE_INDEX)) throw error;
    }
    let created = 0;
    for (const { index, input } of batch) {
      try {
        await this.unitOfWork.run((tx) => this.products.insertWithEvent(tx, input));
        created++;
      } catch (error) {
        if (!isUniqueViolation(error, SKU_UNIQUE_INDEX)) throw error;
        failed.push({ index, errors: [SKU_TAKEN] });
      }
    }
    return created;
  }

  private query<T>(sql: string, parameters: unknown[]): Promise<T[]> {
    return this.dataSource.query<T[]>(sql, parameters);
  }
}

/** The global validation pipe itself, so an item is judged exactly as POST /v1/products judges its body. */
const pipe = new AppValidationPipe();
const asBody: ArgumentMetadata = { type: 'body', metatype: CreateProductDto };

async function validateItem(item: unknown): Promise<{ input?: CreateProductDto; errors: FieldError[] }> {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return { errors: [{ field: 'item', message: 'must be a JSON object' }] };
  }
  try {
    return { input: (await pipe.transform(item, asBody)) as CreateProductDto, errors: [] };
  } catch (error) {
    if (error instanceof ProblemException && error.problem.errors) return { errors: error.problem.errors };
    throw error;
  }
}
