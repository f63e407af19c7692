import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Cached } from '../../infra/cache/index.js';
import type { Page } from '../../infra/database/index.js';
import { Idempotent } from '../../infra/idempotency/index.js';
import {
  etagOf,
  writePreconditions,
  ParseUuidPipe,
  ApiCachedRead,
  ApiIfMatch,
  ApiKeyProtected,
  ApiPatchBody,
  ApiProblemResponses,
  ResponseHeaders,
} from '../../infra/http/index.js';
import { CreateProductDto } from './dto/create-product.dto.js';
import { ListProductsQueryDto } from './dto/list-products-query.dto.js';
import { ProductPageDto, ProductResponseDto } from './dto/product-response.dto.js';
import { UpdateProductDto } from './dto/update-product.dto.js';
import { PRODUCTS_TAG, productKeyOf, productListKeyOf } from './products.cache.js';
import { ProductsService } from './products.service.js';

@ApiTags('products')
@Controller({ path: 'products', version: '1' })
export class ProductsController {
  constructor(private readonly products: ProductsService) {}

  @Post()
  @Idempotent()
  @ApiOperation({ summary: 'Create a product' })
  @ApiCreatedResponse({
    type: ProductResponseDto,
    headers: { Location: ResponseHeaders.location, ETag: ResponseHeaders.etag },
  })
  @ApiProblemResponses(400, 409, 413, 415)
  @ApiKeyProtected()
  async create(
    @Body() body: CreateProductDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ProductResponseDto> {
    const product = await this.products.create(body);
    void reply.header('location', `/v1/products/${product.id}`).header('etag', etagOf(product.version));
    return product;
  }

  @Get()
  @ApiOperation({ summary: 'List products, newest first' })
  @ApiCachedRead(ProductPageDto)
  @ApiProblemResponses(400)
  @Cached({ query: ListProductsQueryDto, key: productListKeyOf, tags: [PRODUCTS_TAG], name: 'products:list' })
  list(@Query() query: ListProductsQueryDto): Promise<Page<ProductResponseDto>> {
    return this.products.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a product' })
  @ApiCachedRead(ProductResponseDto)
  @ApiProblemResponses(400, 404)
  // ETag, If-None-Match (304) and Cache-Status are the cache interceptor's, on hits and misses alike.
  @Cached({ key: productKeyOf, name: 'product' })
  get(@Param('id', ParseUuidPipe) id: string): Promise<ProductResponseDto> {
    return this.products.get(id);
  }

  @Patch(':id')
  @Idempotent()
  @ApiOperation({ summary: "Update any subset of a product's writable fields" })
  @ApiPatchBody(UpdateProductDto, { stock: 5 })
  @ApiIfMatch()
  @ApiOkResponse({ type: ProductResponseDto, headers: { ETag: ResponseHeaders.etag } })
  @ApiProblemResponses(400, 404, 409, 412, 413, 415)
  @ApiKeyProtected()
  async update(
    @Param('id', ParseUuidPipe) id: string,
    @Body() body: UpdateProductDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ProductResponseDto> {
    const product = await this.products.update(id, body, writePreconditions(ifMatch, ifNoneMatch));
    void reply.header('etag', etagOf(product.version));
    return product;
  }

  @Delete(':id')
  @Idempotent()
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a product' })
  @ApiIfMatch()
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblemResponses(400, 404, 412)
  @ApiKeyProtected()
  async remove(
    @Param('id', ParseUuidPipe) id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
  ): Promise<void> {
    await this.products.remove(id, writePreconditions(ifMatch, ifNoneMatch));
  }
}
