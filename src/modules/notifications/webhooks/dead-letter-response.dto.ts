import { ApiProperty } from '@nestjs/swagger';

/** One delivery that failed its last attempt. */
export class DeadLetterResponseDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid', description: 'The event id, sent as webhook-id' }) eventId!: string;
  @ApiProperty({ example: 'user.created' }) type!: string;
  @ApiProperty({ format: 'uri' }) url!: string;
  @ApiProperty({ type: 'integer', minimum: 1, description: 'Attempts made, replays included' }) attempts!: number;
  @ApiProperty({ example: 'HTTP 500' }) lastError!: string;
  @ApiProperty({ format: 'date-time' }) failedAt!: string;
}

export class DeadLetterListDto {
  @ApiProperty({ type: [DeadLetterResponseDto] }) items!: DeadLetterResponseDto[];
}
