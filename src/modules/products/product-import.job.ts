import { defineJob, defineQueue } from '../../infra/queue/index.js';
import type { ImportProductsJob } from './dto/import-products.dto.js';

/**
 * Long-running bulk work, on a queue of its own so an import never holds up an email or a
 * webhook; its jobs are the ones GET /v1/jobs/{id} reports (their data is a `ReportedJobData`).
 */
export const IMPORTS_QUEUE = defineQueue({ name: 'imports', workers: 'long', reported: true });

/**
 * One bulk import (`ProductImportProcessor`). One attempt: a re-run would report the first run's
 * products as taken skus. A crashed worker's job is still run again (stalled-job recovery).
 */
export const IMPORT_PRODUCTS = defineJob<ImportProductsJob>({
  name: 'import-products',
  queue: IMPORTS_QUEUE,
  options: { attempts: 1 },
});
