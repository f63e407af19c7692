import { Controller, Get, Inject, Param, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiProblemResponses, ParseUuidPipe, ProblemException } from '../http/index.js';
import { JobStatusDto, toJobStatusDto } from './dto/job-status.dto.js';
import { JobCatalog } from './job-catalog.js';
import { type JobStatus, QueueDriver, type ReportedJobData } from './queue.types.js';

@ApiTags('jobs')
@Controller({ path: 'jobs', version: '1' })
export class JobsController {
  constructor(
    @Inject(QueueDriver) private readonly queue: QueueDriver,
    private readonly catalog: JobCatalog,
  ) {}

  /**
   * A background job's state; jobs are kept for a while after they finish (their `keepMs`).
   * Only jobs of a queue declared `reported: true` (jobs a client started, such as imports) are
   * shown, and one started with an API key only to a request presenting that key; anything else
   * (internal jobs, someone else's job) is a 404, the same answer as an unknown id.
   */
  @Get(':jobId')
  @ApiOperation({ summary: "Read a background job's state, progress and result" })
  @ApiOkResponse({ type: JobStatusDto })
  @ApiProblemResponses(400, 404, 503)
  async get(@Param('jobId', ParseUuidPipe) jobId: string, @Req() request: FastifyRequest): Promise<JobStatusDto> {
    const job = await this.queue.getJob(jobId).catch((error: unknown) => {
      // Only the queue's backend can fail here (Redis or PostgreSQL unreachable): a 503, not a 500.
      throw new ProblemException(503, 'The job queue is unavailable; try again shortly', {
        headers: { 'retry-after': '1' },
        cause: error,
      });
    });
    if (!job || this.catalog.queue(job.queue)?.reported !== true || !visibleTo(job, request.apiKeyName)) {
      throw new ProblemException(404, 'No job with this id (it may have finished long ago and been pruned)');
    }
    return toJobStatusDto(job);
  }
}

/** A job of a reported queue: shown to the API key that started it, or to anyone when it has no owner. */
function visibleTo(job: JobStatus, apiKeyName: string | undefined): boolean {
  const owner = (job.data as Partial<ReportedJobData> | null)?.owner ?? null;
  return owner === null || owner === apiKeyName;
}
