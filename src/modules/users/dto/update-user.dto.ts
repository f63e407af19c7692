import { PartialType } from '@nestjs/swagger';
import { CreateUserDto } from './create-user.dto.js';

/** Any subset of the writable fields; none of them is nullable. */
export class UpdateUserDto extends PartialType(CreateUserDto, { skipNullProperties: false }) {}
