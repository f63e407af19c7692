import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { ToInteger } from '../../common/index.js';

/** An optional `?limit=` of 1–100 (documented, converted, validated, never clamped). */
export function LimitQueryParameter(description: string): PropertyDecorator {
  const message = 'must be an integer from 1 to 100';
  return applyDecorators(
    ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, description }),
    IsOptional(),
    ToInteger(),
    IsInt({ message }),
    Min(1, { message }),
    Max(100, { message }),
  );
}

/** The page size when `limit` is omitted. */
export const DEFAULT_PAGE_SIZE = 20;

/** `?limit=&cursor=` for every newest-first listing. Validated, never clamped. */
export class PageQueryDto {
  @LimitQueryParameter(`Page size; ${DEFAULT_PAGE_SIZE} when omitted`)
  limit?: number;

  @ApiPropertyOptional({ description: 'Opaque cursor: the nextCursor of the previous page' })
  @IsOptional()
  @IsString({ message: 'must be a string' })
  cursor?: string;
}
