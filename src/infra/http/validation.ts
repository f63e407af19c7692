import { type ArgumentMetadata, Injectable, ValidationPipe, type ValidationError } from '@nestjs/common';
import { type FieldError, ProblemException } from './problem.js';

const READ_ONLY_FIELDS = new Set(['id', 'version', 'createdAt', 'updatedAt']);
const DROPPED_KEYS = ['constructor', '__proto__'];

/** The dotted path of the first own `constructor`/`__proto__` key in a parsed JSON value, if any. */
function unsafeKeyPath(value: unknown, parent: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, member] of Object.entries(value)) {
    const field = parent ? `${parent}.${key}` : key;
    if (DROPPED_KEYS.includes(key)) return field;
    const nested = unsafeKeyPath(member, field);
    if (nested !== undefined) return nested;
  }
  return undefined;
}

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]): FieldError => {
      if (constraint === 'whitelistValidation') {
        return { field, message: READ_ONLY_FIELDS.has(error.property) ? 'is read-only' : 'is not a known property' };
      }
      // class-validator starts messages with the property name; the field already says it.
      return { field, message: message.startsWith(`${error.property} `) ? message.slice(error.property.length + 1) : message };
    });
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * The global validation pipe: whitelist, forbid unknown and read-only properties, transform,
 * and never coerce types implicitly (a string "5" is not a number). Failures are 400 problem+json
 * with one entry per field.
 */
@Injectable()
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      stopAtFirstError: true,
      transform: true,
      transformOptions: { enableImplicitConversion: false },
      validationError: { target: false, value: false },
      exceptionFactory: (errors) =>
        new ProblemException(400, 'The request is invalid', { errors: flatten(errors) }),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isDto = metadata.metatype !== undefined && this.toValidate(metadata);
    if (isDto && (metadata.type === 'body' || metadata.type === 'query')) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new ProblemException(400, metadata.type === 'body' ? 'The request body must be a JSON object' : 'Invalid query');
      }
      // class-transformer silently drops `constructor` and `__proto__` keys, so the whitelist never sees them.
      const field = unsafeKeyPath(value, '');
      if (field !== undefined) {
        throw new ProblemException(400, 'The request is invalid', { errors: [{ field, message: 'is not a known property' }] });
      }
    }
    return super.transform(value, metadata);
  }
}
