import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { ToInteger } from '../../common/index.js';

/** The page size when `limit` is omitted. */
export const DEFAULT_PAGE_SIZE = 20;

/** `?limit=&cursor=` for every newest-first listing. Validated, never clamped. */
export class PageQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 100,
    description: `Page size; ${DEFAULT_PAGE_SIZE} when omitted`,
  })
  @IsOptional()
  @ToInteger()
  @IsInt({ message: 'must be an integer from 1 to 100' })
  @Min(1, { message: 'must be an integer from 1 to 100' })
  @Max(100, { message: 'must be an integer from 1 to 100' })
  limit?: number;

  @ApiPropertyOptional({ description: 'Opaque cursor: the nextCursor of the previous page' })
  @IsOptional()
  @IsString({ message: 'must be a string' })
  cursor?: string;
}
