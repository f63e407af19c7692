import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsString, Length, Matches, ValidateIf } from 'class-validator';

/**
 * A text field: a string of `min`..`max` characters with no NUL (PostgreSQL text cannot hold one),
 * optionally trimmed before the length check.
 */
export function IsText({ min, max, trim = false }: { min: number; max: number; trim?: boolean }): PropertyDecorator {
  return applyDecorators(
    ...(trim ? [Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))] : []),
    IsString({ message: 'must be a string' }),
    Length(min, max, { message: `must be ${min === 0 ? 'at most' : `${min} to`} ${max} characters` }),
    // eslint-disable-next-line no-control-regex -- NUL is exactly what this rejects
    Matches(/^[^\u0000]*$/, { message: 'must not contain NUL characters' }),
  );
}

/** Optional, but not nullable: `undefined` skips validation, `null` fails it. */
export function IsOmittable(): PropertyDecorator {
  return ValidateIf((_object, value) => value !== undefined);
}

/** A query parameter holding a whole number: "20" becomes 20, anything else stays as it is and fails. */
export function ToInteger(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value,
  );
}

/** A query parameter holding a boolean: only "true" and "false" are accepted. */
export function ToBoolean(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value));
}
