import { Controller, Get, HttpCode, Param, Post, VERSION_NEUTRAL } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiProblemResponses } from '../../../infra/http/openapi.decorators.js';
import { ParseUuidPipe } from '../../../infra/http/parse-uuid.pipe.js';
import { DeadLetterListDto } from './dead-letter-response.dto.js';
import { DeadLettersService } from './dead-letters.service.js';

/** Operator routes; the `/admin` guard (`installAdminGuard`, ADMIN_TOKEN) runs before any of them. */
@ApiTags('admin')
@ApiHeader({
  name: 'Authorization',
  required: true,
  description: '`Bearer <ADMIN_TOKEN>`, or HTTP Basic with ADMIN_TOKEN as the password (401 without, 403 wrong, 404 when ADMIN_TOKEN is unset)',
})
@ApiProblemResponses(401, 403, 404)
@Controller({ path: 'admin/dead-letters', version: VERSION_NEUTRAL })
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  @ApiOkResponse({ type: DeadLetterListDto, description: 'Webhook deliveries that failed their last attempt, not replayed yet, newest first' })
  async list(): Promise<DeadLetterListDto> {
    return { items: await this.deadLetters.list() };
  }

  @Post(':id/replay')
  @HttpCode(202)
  @ApiAcceptedResponse({ description: 'The delivery is enqueued again, with the same webhook-id' })
  @ApiProblemResponses(400, 409, 503)
  async replay(@Param('id', ParseUuidPipe) id: string): Promise<void> {
    await this.deadLetters.replay(id);
  }
}
