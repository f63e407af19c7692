import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblemResponses } from '../http/openapi.decorators.js';
import { ParseUuidPipe } from '../http/parse-uuid.pipe.js';
import { ProblemException } from '../http/problem.js';
import { JobStatusDto, toJobStatusDto } from './dto/job-status.dto.js';
import { QueueDriver } from './queue.types.js';

@ApiTags('jobs')
@Controller({ path: 'jobs', version: '1' })
export class JobsController {
  constructor(@Inject(QueueDriver) private readonly queue: QueueDriver) {}

  /** A background job's state; jobs are kept for QUEUE_KEEP_COMPLETED_SECONDS / QUEUE_KEEP_FAILED_SECONDS after they finish. */
  @Get(':jobId')
  @ApiOperation({ summary: "Read a background job's state, progress and result" })
  @ApiOkResponse({ type: JobStatusDto })
  @ApiProblemResponses(400, 404, 503)
  async get(@Param('jobId', ParseUuidPipe) jobId: string): Promise<JobStatusDto> {
    const job = await this.queue.getJob(jobId).catch((error: unknown) => {
      // Only the queue's backend can fail here (Redis or PostgreSQL unreachable): a 503, not a 500.
      throw new ProblemException(503, 'The job queue is unavailable; try again shortly', { headers: { 'retry-after': '1' }, cause: error });
    });
    if (!job) throw new ProblemException(404, 'No job with this id (it may have finished long ago and been pruned)');
    return toJobStatusDto(job);
  }
}
