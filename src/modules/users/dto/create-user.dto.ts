import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail } from 'class-validator';
import { IsText } from '../../../common/index.js';

export class CreateUserDto {
  @ApiProperty({
    example: 'ada@example.com',
    format: 'email',
    maxLength: 254,
    description: 'Stored in lower case; unique',
  })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  // Decorators register bottom-up and validation stops at the first error: the type check goes last.
  @IsEmail({ allow_display_name: false, allow_ip_domain: false }, { message: 'must be a valid email address' })
  @IsText({ min: 3, max: 254 })
  email!: string;

  @ApiProperty({ example: 'Ada Lovelace', minLength: 1, maxLength: 200, description: 'Trimmed' })
  @IsText({ min: 1, max: 200, trim: true })
  name!: string;
}
