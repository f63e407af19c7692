import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
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
  PageQueryDto,
} from '../../infra/http/index.js';
import { clientKeyOf } from '../../infra/throttle/index.js';
import { CreateUserDto } from './dto/create-user.dto.js';
import { UserPageDto, UserResponseDto } from './dto/user-response.dto.js';
import { UpdateUserDto } from './dto/update-user.dto.js';
import { USERS_TAG, userKeyOf, userListKeyOf } from './users.cache.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@Controller({ path: 'users', version: '1' })
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @Idempotent()
  @ApiOperation({ summary: 'Create a user' })
  @ApiCreatedResponse({
    type: UserResponseDto,
    headers: { Location: ResponseHeaders.location, ETag: ResponseHeaders.etag },
  })
  @ApiProblemResponses(400, 409, 413, 415)
  @ApiKeyProtected()
  async create(
    @Body() body: CreateUserDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UserResponseDto> {
    // The welcome email limit counts per client as the rate limiter sees it (API key name, else IP).
    const user = await this.users.create(body, clientKeyOf(request));
    void reply.header('location', `/v1/users/${user.id}`).header('etag', etagOf(user.version));
    return user;
  }

  @Get()
  @ApiOperation({ summary: 'List users, newest first' })
  @ApiCachedRead(UserPageDto)
  @ApiProblemResponses(400)
  @Cached({ query: PageQueryDto, key: userListKeyOf, tags: [USERS_TAG], name: 'users:list' })
  list(@Query() query: PageQueryDto): Promise<Page<UserResponseDto>> {
    return this.users.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a user' })
  @ApiCachedRead(UserResponseDto)
  @ApiProblemResponses(400, 404)
  // ETag, If-None-Match (304) and Cache-Status are the cache interceptor's, on hits and misses alike.
  @Cached({ key: userKeyOf, name: 'user' })
  get(@Param('id', ParseUuidPipe) id: string): Promise<UserResponseDto> {
    return this.users.get(id);
  }

  @Patch(':id')
  @Idempotent()
  @ApiOperation({ summary: "Update any subset of a user's writable fields" })
  @ApiPatchBody(UpdateUserDto, { name: 'Ada King' })
  @ApiIfMatch()
  @ApiOkResponse({ type: UserResponseDto, headers: { ETag: ResponseHeaders.etag } })
  @ApiProblemResponses(400, 404, 409, 412, 413, 415)
  @ApiKeyProtected()
  async update(
    @Param('id', ParseUuidPipe) id: string,
    @Body() body: UpdateUserDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UserResponseDto> {
    const user = await this.users.update(id, body, writePreconditions(ifMatch, ifNoneMatch));
    void reply.header('etag', etagOf(user.version));
    return user;
  }

  @Delete(':id')
  @Idempotent()
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user' })
  @ApiIfMatch()
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblemResponses(400, 404, 412)
  @ApiKeyProtected()
  async remove(
    @Param('id', ParseUuidPipe) id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
  ): Promise<void> {
    await this.users.remove(id, writePreconditions(ifMatch, ifNoneMatch));
  }
}
