import { ApiProperty } from '@nestjs/swagger';
import type { UserEntity } from '../user.entity.js';

/** A user as the API returns it: exactly these fields. */
export class UserResponseDto {
  @ApiProperty({ format: 'uuid', readOnly: true }) id!: string;
  @ApiProperty({ format: 'email' }) email!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: 'integer', minimum: 1, readOnly: true, description: 'Increases on every write; the ETag' })
  version!: number;
  @ApiProperty({ format: 'date-time', readOnly: true }) createdAt!: string;
  @ApiProperty({ format: 'date-time', readOnly: true }) updatedAt!: string;
}

export class UserPageDto {
  @ApiProperty({ type: [UserResponseDto] }) items!: UserResponseDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export function toUserResponse(user: UserEntity): UserResponseDto {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    version: user.version,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}
