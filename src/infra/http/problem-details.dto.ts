import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ example: 'priceCents', description: 'The JSON field, query parameter or header at fault' })
  field!: string;

  @ApiProperty({ example: 'must be an integer from 0 to 1000000000' })
  message!: string;
}

/** RFC 9457 problem details: the body of every error response (`application/problem+json`). */
export class ProblemDetailsDto {
  @ApiProperty({ example: 'about:blank' })
  type!: string;

  @ApiProperty({ example: 'Bad Request' })
  title!: string;

  @ApiProperty({ type: 'integer', example: 400, description: 'The HTTP status code' })
  status!: number;

  @ApiProperty({ example: 'The request is invalid' })
  detail!: string;

  @ApiProperty({ example: '/v1/products' })
  instance!: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'Present for validation failures' })
  errors?: FieldErrorDto[];
}
