import { ApiProperty } from '@nestjs/swagger';
import { ProductResponseDto } from '../../products/dto/product-response.dto.js';
import { type PopularityWindow, WINDOW_NAMES } from '../product-views.js';

export class PopularProductDto {
  @ApiProperty({ type: ProductResponseDto }) product!: ProductResponseDto;
  @ApiProperty({ type: 'integer', minimum: 1, description: 'Reads answered 200 or 304 in the window' })
  views!: number;
}

export class PopularProductsDto {
  @ApiProperty({ enum: WINDOW_NAMES }) window!: PopularityWindow;
  @ApiProperty({ type: [PopularProductDto], description: 'Most viewed first; ties: newest product first' })
  items!: PopularProductDto[];
}

/** One number per window. */
export class WindowCountsDto {
  @ApiProperty({ name: '1h', type: 'integer', minimum: 0 }) '1h'!: number;
  @ApiProperty({ name: '24h', type: 'integer', minimum: 0 }) '24h'!: number;
  @ApiProperty({ name: '7d', type: 'integer', minimum: 0 }) '7d'!: number;
}

export class ProductStatsDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ type: WindowCountsDto, description: 'Reads answered 200 or 304, counted exactly' })
  views!: WindowCountsDto;
  @ApiProperty({
    type: WindowCountsDto,
    description: 'Distinct clients (API key name, else IP): a HyperLogLog estimate, standard error about 1 %',
  })
  uniqueViewers!: WindowCountsDto;
}
