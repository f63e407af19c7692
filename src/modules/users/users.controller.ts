import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Page } from '../../infra/http/cursor.js';
import { etagOf, ifNoneMatchHits, versionsFromIfMatch } from '../../infra/http/etag.js';
import { ParseUuidPipe } from '../../infra/http/parse-uuid.pipe.js';
import { CreateUserDto } from './dto/create-user.dto.js';
import { PageQueryDto } from '../../infra/http/page-query.dto.js';
import { UserPageDto, UserResponseDto } from './dto/user-response.dto.js';
import { UpdateUserDto } from './dto/update-user.dto.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@Controller({ path: 'users', version: '1' })
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiCreatedResponse({ type: UserResponseDto })
  async create(@Body() body: CreateUserDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<UserResponseDto> {
    const user = await this.users.create(body);
    void reply.header('location', `/v1/users/${user.id}`).header('etag', etagOf(user.version));
    return user;
  }

  @Get()
  @ApiOkResponse({ type: UserPageDto })
  list(@Query() query: PageQueryDto): Promise<Page<UserResponseDto>> {
    return this.users.list(query);
  }

  @Get(':id')
  @ApiOkResponse({ type: UserResponseDto })
  async get(
    @Param('id', ParseUuidPipe) id: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UserResponseDto | undefined> {
    const user = await this.users.get(id);
    void reply.header('etag', etagOf(user.version));
    if (ifNoneMatchHits(ifNoneMatch, user.version)) {
      void reply.status(304);
      return undefined;
    }
    return user;
  }

  @Patch(':id')
  @ApiOkResponse({ type: UserResponseDto })
  async update(
    @Param('id', ParseUuidPipe) id: string,
    @Body() body: UpdateUserDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UserResponseDto> {
    const user = await this.users.update(id, body, versionsFromIfMatch(ifMatch));
    void reply.header('etag', etagOf(user.version));
    return user;
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  async remove(@Param('id', ParseUuidPipe) id: string, @Headers('if-match') ifMatch: string | undefined): Promise<void> {
    await this.users.remove(id, versionsFromIfMatch(ifMatch));
  }
}
