import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { IsOmittable, IsText } from '../../../common/index.js';

/** ISO 4217 codes known to this runtime's ICU data. */
const CURRENCIES: readonly string[] = Intl.supportedValuesOf('currency');

export class CreateProductDto {
  @ApiProperty({
    example: 'TSHIRT-RED-M',
    pattern: '^[A-Za-z0-9._-]{1,64}$',
    description: 'Unique, case-insensitively',
  })
  // Decorators register bottom-up and validation stops at the first error: the type check goes last.
  @Matches(/^[A-Za-z0-9._-]*$/, { message: 'may contain only letters, digits, dot, underscore and hyphen' })
  @IsText({ min: 1, max: 64 })
  sku!: string;

  @ApiProperty({ example: 'Red T-shirt, size M', minLength: 1, maxLength: 200, description: 'Trimmed' })
  @IsText({ min: 1, max: 200, trim: true })
  name!: string;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 2000 })
  @IsOptional()
  @IsText({ min: 0, max: 2000 })
  description?: string | null;

  @ApiProperty({
    type: 'integer',
    example: 1999,
    minimum: 0,
    maximum: 1_000_000_000,
    description: "In the currency's minor unit",
  })
  @IsInt({ message: 'must be an integer from 0 to 1000000000' })
  @Min(0, { message: 'must be an integer from 0 to 1000000000' })
  @Max(1_000_000_000, { message: 'must be an integer from 0 to 1000000000' })
  priceCents!: number;

  // The exact list the server accepts, so generated clients and fuzzers know it too (a pattern would admit "XYZ").
  @ApiProperty({ example: 'EUR', enum: [...CURRENCIES], description: 'ISO 4217 code' })
  @IsIn(CURRENCIES, { message: 'must be an ISO 4217 currency code in upper case, e.g. EUR' })
  currency!: string;

  // No `default` in the schema: generated clients would make the field required, and Swagger UI would
  // pre-fill it in PATCH and overwrite the stored value. The server applies it on create.
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 2_147_483_647,
    description: 'Units in stock; 0 when omitted on create',
  })
  @IsOmittable()
  @IsInt({ message: 'must be an integer from 0 to 2147483647' })
  @Min(0, { message: 'must be an integer from 0 to 2147483647' })
  @Max(2_147_483_647, { message: 'must be an integer from 0 to 2147483647' })
  stock?: number;

  @ApiPropertyOptional({ type: Boolean, description: 'Whether the product is for sale; true when omitted on create' })
  @IsOmittable()
  @IsBoolean({ message: 'must be true or false' })
  active?: boolean;
}
