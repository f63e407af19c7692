import { type ArgumentMetadata, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { queueConfig } from '../../config/index.js';
import { isUniqueViolation } from '../../infra/database/postgres-errors.js';
import { UnitOfWork } from '../../infra/database/unit-of-work.js';
import { type FieldError, ProblemException } from '../../infra/http/problem.js';
import { AppValidationPipe } from '../../infra/http/validation.js';
import { type JobContext, JobHandler, JobName, QueueDriver, type QueueJobHandler, QueueName } from '../../infra/queue/queue.types.js';
import { CreateProductDto } from './dto/create-product.dto.js';
import type { ImportProductsJob, ImportProductsResult } from './dto/import-products.dto.js';
import { SKU_UNIQUE_INDEX } from './product.entity.js';
import { ProductsService } from './products.service.js';

const SKU_TAKEN: FieldError = { field: 'sku', message: 'is already taken' };

interface ValidItem {
  index: number;
  input: CreateProductDto;
}

/** Enqueues an import; the job id is the one GET /v1/jobs/{id} takes. */
@Injectable()
export class ProductImportService {
  constructor(@Inject(QueueDriver) private readonly queue: QueueDriver) {}

  start(items: unknown[]): Promise<string> {
    // One attempt: a re-run would report the first run's products as duplicate skus. A crashed
    // worker's job is still picked up again (stalled-job recovery).
    return this.queue.add<ImportProductsJob>(QueueName.Imports, JobName.ImportProducts, { items }, { attempts: 1 });
  }
}

/**
 * The bulk import job: validates every item with POST /v1/products' rules, inserts the valid ones
 * in batches of IMPORT_BATCH_SIZE (each batch one transaction with its `product.created` events),
 * reports progress, and returns `{ created, failed: [{ index, errors }] }`.
 */
@Injectable()
@JobHandler(JobName.ImportProducts)
export class ProductImportProcessor implements QueueJobHandler<ImportProductsJob, ImportProductsResult> {
  constructor(
    @Inject(queueConfig.KEY) private readonly config: ConfigType<typeof queueConfig>,
    private readonly products: ProductsService,
    private readonly unitOfWork: UnitOfWork,
  ) {}

  async handle(job: JobContext<ImportProductsJob>): Promise<ImportProductsResult> {
    const { items } = job.data;
    const failed: ImportProductsResult['failed'] = [];
    const valid: ValidItem[] = [];
    const firstIndexOfSku = new Map<string, number>();

    for (const [index, item] of items.entries()) {
      const { input, errors } = await validateItem(item);
      if (!input) {
        failed.push({ index, errors });
        continue;
      }
      const sku = input.sku.toLowerCase();
      const first = firstIndexOfSku.get(sku);
      if (first !== undefined) {
        failed.push({ index, errors: [{ field: 'sku', message: `duplicates the sku of item ${first}` }] });
        continue;
      }
      firstIndexOfSku.set(sku, index);
      valid.push({ index, input });
    }

    let created = 0;
    let processed = items.length - valid.length;
    const batchSize = this.config.importBatchSize;
    for (let start = 0; start < valid.length; start += batchSize) {
      const batch = valid.slice(start, start + batchSize);
      created += await this.insertBatch(batch, failed);
      processed += batch.length;
      await job.updateProgress(Math.floor((processed / items.length) * 100));
    }
    await job.updateProgress(100);
    failed.sort((a, b) => a.index - b.index);
    return { created, failed };
  }

  /** One transaction for the batch; if a sku turns out to be taken, item by item to find which. */
  private async insertBatch(batch: ValidItem[], failed: ImportProductsResult['failed']): Promise<number> {
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
