import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';
import { ToBoolean } from '../../../common/index.js';
import { PageQueryDto } from '../../../infra/http/index.js';

export class ListProductsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only active (true) or inactive (false) products' })
  @IsOptional()
  @ToBoolean()
  @IsBoolean({ message: 'must be true or false' })
  active?: boolean;
}
