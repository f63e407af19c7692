import { Controller, Get, HttpCode, Param, Post, VERSION_NEUTRAL } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAdminProtected, ApiProblemResponses, ParseUuidPipe } from '../../../infra/http/index.js';
import { DeadLetterListDto } from './dead-letter-response.dto.js';
import { DeadLettersService } from './dead-letters.service.js';

/** Operator routes; the `/admin` guard (`installAdminGuard`, ADMIN_TOKEN) runs before any of them. */
@ApiTags('admin')
@ApiAdminProtected()
@Controller({ path: 'admin/dead-letters', version: VERSION_NEUTRAL })
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  @ApiOperation({ summary: 'List dead-lettered webhook deliveries' })
  @ApiOkResponse({
    type: DeadLetterListDto,
    description: 'Webhook deliveries that failed their last attempt, not replayed yet, newest first',
  })
  async list(): Promise<DeadLetterListDto> {
    return { items: await this.deadLetters.list() };
  }

  @Post(':id/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Replay a dead-lettered webhook delivery' })
  @ApiAcceptedResponse({ description: 'The delivery is enqueued again, with the same webhook-id' })
  @ApiProblemResponses(400, 409, 503)
  async replay(@Param('id', ParseUuidPipe) id: string): Promise<void> {
    await this.deadLetters.replay(id);
  }
}
