import { PartialType } from '@nestjs/swagger';
import { CreateProductDto } from './create-product.dto.js';

/** Any subset of the writable fields; `null` only where the field is nullable (description). */
export class UpdateProductDto extends PartialType(CreateProductDto, { skipNullProperties: false }) {}
