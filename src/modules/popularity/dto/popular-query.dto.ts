import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { ToInteger } from '../../../common/index.js';
import { type PopularityWindow, WINDOW_NAMES } from '../product-views.js';

export const DEFAULT_POPULAR_WINDOW: PopularityWindow = '24h';
export const DEFAULT_POPULAR_LIMIT = 10;

/** `?window=&limit=` of GET /v1/products/popular. Validated, never clamped. */
export class PopularQueryDto {
  @ApiPropertyOptional({ enum: WINDOW_NAMES, description: `The span counted; ${DEFAULT_POPULAR_WINDOW} when omitted` })
  @IsOptional()
  @IsIn(WINDOW_NAMES, { message: `must be one of ${WINDOW_NAMES.join(', ')}` })
  window?: PopularityWindow;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 100,
    description: `How many products; ${DEFAULT_POPULAR_LIMIT} when omitted`,
  })
  @IsOptional()
  @ToInteger()
  @IsInt({ message: 'must be an integer from 1 to 100' })
  @Min(1, { message: 'must be an integer from 1 to 100' })
  @Max(100, { message: 'must be an integer from 1 to 100' })
  limit?: number;
}
