import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Page } from '../../infra/http/cursor.js';
import { etagOf, ifNoneMatchHits, versionsFromIfMatch } from '../../infra/http/etag.js';
import { ParseUuidPipe } from '../../infra/http/parse-uuid.pipe.js';
import { CreateProductDto } from './dto/create-product.dto.js';
import { ListProductsQueryDto } from './dto/list-products-query.dto.js';
import { ProductPageDto, ProductResponseDto } from './dto/product-response.dto.js';
import { UpdateProductDto } from './dto/update-product.dto.js';
import { ProductsService } from './products.service.js';

@ApiTags('products')
@Controller({ path: 'products', version: '1' })
export class ProductsController {
  constructor(private readonly products: ProductsService) {}

  @Post()
  @ApiCreatedResponse({ type: ProductResponseDto })
  async create(@Body() body: CreateProductDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<ProductResponseDto> {
    const product = await this.products.create(body);
    void reply.header('location', `/v1/products/${product.id}`).header('etag', etagOf(product.version));
    return product;
  }

  @Get()
  @ApiOkResponse({ type: ProductPageDto })
  list(@Query() query: ListProductsQueryDto): Promise<Page<ProductResponseDto>> {
    return this.products.list(query);
  }

  @Get(':id')
  @ApiOkResponse({ type: ProductResponseDto })
  async get(
    @Param('id', ParseUuidPipe) id: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ProductResponseDto | undefined> {
    const product = await this.products.get(id);
    void reply.header('etag', etagOf(product.version));
    if (ifNoneMatchHits(ifNoneMatch, product.version)) {
      void reply.status(304);
      return undefined;
    }
    return product;
  }

  @Patch(':id')
  @ApiOkResponse({ type: ProductResponseDto })
  async update(
    @Param('id', ParseUuidPipe) id: string,
    @Body() body: UpdateProductDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ProductResponseDto> {
    const product = await this.products.update(id, body, versionsFromIfMatch(ifMatch));
    void reply.header('etag', etagOf(product.version));
    return product;
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  async remove(@Param('id', ParseUuidPipe) id: string, @Headers('if-match') ifMatch: string | undefined): Promise<void> {
    await this.products.remove(id, versionsFromIfMatch(ifMatch));
  }
}
