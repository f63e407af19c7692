import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray } from 'class-validator';
import type { FieldError } from '../../../infra/http/index.js';
import type { ReportedJobData } from '../../../infra/queue/index.js';
import { CreateProductDto } from './create-product.dto.js';

export const MAX_IMPORT_ITEMS = 10_000;

/** POST /v1/products/import. Items are validated one by one in the job, with POST /v1/products' rules. */
export class ImportProductsDto {
  // Any JSON object is accepted per item: the job validates each one and reports it by index.
  @ApiProperty({
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: true,
      description: `A product as POST /v1/products takes it (${CreateProductDto.name})`,
    },
    minItems: 1,
    maxItems: MAX_IMPORT_ITEMS,
    description:
      'Products to create. Each item is validated in the job with the rules of POST /v1/products; an invalid item ' +
      'does not fail the others and is listed in the job result as `failed[]: { index, errors }`.',
  })
  @IsArray({ message: 'must be an array of products' })
  @ArrayMinSize(1, { message: `must hold 1 to ${MAX_IMPORT_ITEMS} items` })
  @ArrayMaxSize(MAX_IMPORT_ITEMS, { message: `must hold 1 to ${MAX_IMPORT_ITEMS} items` })
  items!: unknown[];
}

export class ImportAcceptedDto {
  @ApiProperty({
    format: 'uuid',
    readOnly: true,
    description: 'Follow Location: /v1/jobs/{jobId} for progress and result',
  })
  jobId!: string;
}

/** The import job's data: the items are staged in `product_import_items` under `importId`. */
export interface ImportProductsJob extends ReportedJobData {
  importId: string;
}

/** The import job's result, as GET /v1/jobs/{id} shows it. */
export interface ImportProductsResult {
  created: number;
  failed: Array<{ index: number; errors: FieldError[] }>;
}
