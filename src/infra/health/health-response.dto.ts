import { ApiProperty } from '@nestjs/swagger';

export class LiveResponseDto {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';
}

export class ComponentStatusDto {
  @ApiProperty({ enum: ['up', 'down'] }) status!: 'up' | 'down';
}

export class ReadyResponseDto {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';

  @ApiProperty({
    description: 'One entry per dependency',
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/ComponentStatusDto' },
    example: { database: { status: 'up' }, redis: { status: 'up' } },
  })
  details!: Record<string, ComponentStatusDto>;
}
