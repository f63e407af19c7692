import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { LimitQueryParameter } from '../../../infra/http/index.js';
import { type PopularityWindow, WINDOW_NAMES } from '../product-views.js';

export const DEFAULT_POPULAR_WINDOW: PopularityWindow = '24h';
export const DEFAULT_POPULAR_LIMIT = 10;

/** `?window=&limit=` of GET /v1/products/popular. Validated, never clamped. */
export class PopularQueryDto {
  @ApiPropertyOptional({ enum: WINDOW_NAMES, description: `The span counted; ${DEFAULT_POPULAR_WINDOW} when omitted` })
  @IsOptional()
  @IsIn(WINDOW_NAMES, { message: `must be one of ${WINDOW_NAMES.join(', ')}` })
  window?: PopularityWindow;

  @LimitQueryParameter(`How many products; ${DEFAULT_POPULAR_LIMIT} when omitted`)
  limit?: number;
}
