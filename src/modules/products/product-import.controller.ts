import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyProtected, ApiProblemResponses } from '../../infra/http/index.js';
import { Idempotent } from '../../infra/idempotency/index.js';
import { clientKeyOf } from '../../infra/throttle/index.js';
import { ImportAcceptedDto, ImportProductsDto } from './dto/import-products.dto.js';
import { ProductImportService } from './product-import.service.js';

@ApiTags('products')
@Controller({ path: 'products', version: '1' })
export class ProductImportController {
  constructor(private readonly imports: ProductImportService) {}

  @Post('import')
  @Idempotent()
  @HttpCode(202)
  @ApiOperation({ summary: 'Import up to 10 000 products in the background' })
  @ApiAcceptedResponse({
    type: ImportAcceptedDto,
    headers: { Location: { description: '/v1/jobs/{jobId}', schema: { type: 'string' } } },
  })
  @ApiProblemResponses(400, 413, 415, 429, 503)
  @ApiKeyProtected()
  async import(
    @Body() body: ImportProductsDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ImportAcceptedDto> {
    // Per client as the rate limiter sees it (API key name, else IP); the job is readable with that key only.
    const jobId = await this.imports.start(body.items, { key: clientKeyOf(request), apiKeyName: request.apiKeyName });
    void reply.header('location', `/v1/jobs/${jobId}`);
    return { jobId };
  }
}
