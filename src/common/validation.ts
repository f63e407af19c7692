import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsDate, IsString, Length, Matches, ValidateIf } from 'class-validator';

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

/** An RFC 3339 date-time with an offset, e.g. `2026-12-04T18:00:00.000Z` (dates alone and local times are refused). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;

/** The instant `text` names, or `text` itself (which then fails validation) when it is not one; Date would roll 02-30 over. */
function timestampOf(text: string): Date | string {
  if (!RFC3339.test(text)) return text;
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  const real = calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
  const instant = new Date(text);
  return real && !Number.isNaN(instant.getTime()) ? instant : text;
}

/**
 * A timestamp field: an RFC 3339 date-time string with an offset becomes a `Date` (stored as
 * timestamptz, answered as ISO 8601 in UTC); anything else, or an impossible date, fails.
 */
export function IsTimestamp(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? timestampOf(value) : value)),
    IsDate({ message: 'must be a date-time with an offset, e.g. 2026-01-31T12:00:00Z' }),
  );
}
