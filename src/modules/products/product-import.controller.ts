import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiKeyProtected, ApiProblemResponses } from '../../infra/http/openapi.decorators.js';
import { ImportAcceptedDto, ImportProductsDto } from './dto/import-products.dto.js';
import { ProductImportService } from './product-import.processor.js';

@ApiTags('products')
@Controller({ path: 'products', version: '1' })
export class ProductImportController {
  constructor(private readonly imports: ProductImportService) {}

  @Post('import')
  @HttpCode(202)
  @ApiOperation({ summary: 'Import up to 10 000 products in the background' })
  @ApiAcceptedResponse({ type: ImportAcceptedDto, headers: { Location: { description: '/v1/jobs/{jobId}', schema: { type: 'string' } } } })
  @ApiProblemResponses(400, 413, 415)
  @ApiKeyProtected()
  async import(@Body() body: ImportProductsDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<ImportAcceptedDto> {
    const jobId = await this.imports.start(body.items);
    void reply.header('location', `/v1/jobs/${jobId}`);
    return { jobId };
  }
}
