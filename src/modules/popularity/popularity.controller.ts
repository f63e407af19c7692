import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblemResponses, ParseUuidPipe } from '../../infra/http/index.js';
import { DEFAULT_POPULAR_LIMIT, DEFAULT_POPULAR_WINDOW, PopularQueryDto } from './dto/popular-query.dto.js';
import { PopularProductsDto, ProductStatsDto } from './dto/popularity-response.dto.js';
import { PopularityService } from './popularity.service.js';

@ApiTags('products')
@Controller({ path: 'products', version: '1' })
export class PopularityController {
  constructor(private readonly popularity: PopularityService) {}

  @Get('popular')
  @ApiOperation({
    summary: 'The most viewed products of a window',
    description: 'Eventually consistent: a view shows here within 2 seconds, from every instance.',
  })
  @ApiOkResponse({ type: PopularProductsDto })
  @ApiProblemResponses(400, 503)
  popular(@Query() query: PopularQueryDto): Promise<PopularProductsDto> {
    return this.popularity.popular(query.window ?? DEFAULT_POPULAR_WINDOW, query.limit ?? DEFAULT_POPULAR_LIMIT);
  }

  @Get(':id/stats')
  @ApiOperation({
    summary: "A product's views and unique viewers per window",
    description: 'Eventually consistent: a view shows here within 2 seconds, from every instance.',
  })
  @ApiOkResponse({ type: ProductStatsDto })
  @ApiProblemResponses(400, 404, 503)
  stats(@Param('id', ParseUuidPipe) id: string): Promise<ProductStatsDto> {
    return this.popularity.stats(id);
  }
}
