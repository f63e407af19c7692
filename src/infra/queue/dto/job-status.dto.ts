import { ApiProperty } from '@nestjs/swagger';
import type { JobState, JobStatus } from '../queue.types.js';

/** GET /v1/jobs/{id}, exactly as API.md lists it (absent optional fields are null). */
export class JobStatusDto {
  @ApiProperty({ format: 'uuid', readOnly: true })
  id!: string;

  @ApiProperty({ example: 'import-products' })
  name!: string;

  @ApiProperty({ enum: ['waiting', 'active', 'completed', 'failed', 'delayed'] })
  state!: JobState;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: 100, description: 'Percent done' })
  progress!: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Attempts made so far' })
  attempts!: number;

  @ApiProperty({ nullable: true, description: "The job's result once completed", type: Object })
  result!: unknown;

  @ApiProperty({ type: String, nullable: true })
  failedReason!: string | null;
}

export function toJobStatusDto(job: JobStatus): JobStatusDto {
  return {
    id: job.id,
    name: job.name,
    state: job.state,
    progress: job.progress,
    attempts: job.attempts,
    result: job.result ?? null,
    failedReason: job.failedReason ?? null,
  };
}
