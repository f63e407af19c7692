import { type ArgumentMetadata, Injectable, ValidationPipe, type ValidationError } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { type FieldError, ProblemException } from './problem.js';

const READ_ONLY_FIELDS = new Set(['id', 'version', 'createdAt', 'updatedAt']);

/** A 400 lists at most this many field errors; `detail` says how many more there were. */
export const MAX_FIELD_ERRORS = 50;

/** The 400 for a failed validation, with its error list capped at `MAX_FIELD_ERRORS`. */
export function invalidRequest(errors: FieldError[]): ProblemException {
  const hidden = errors.length - MAX_FIELD_ERRORS;
  const detail =
    hidden > 0
      ? `The request is invalid (the first ${MAX_FIELD_ERRORS} errors are listed; ${hidden} more are not)`
      : 'The request is invalid';
  return new ProblemException(400, detail, { errors: hidden > 0 ? errors.slice(0, MAX_FIELD_ERRORS) : errors });
}

function unknownProperty(name: string): FieldError {
  return { field: name, message: READ_ONLY_FIELDS.has(name) ? 'is read-only' : 'is not a known property' };
}

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]): FieldError => {
      if (constraint === 'whitelistValidation') return { ...unknownProperty(error.property), field };
      // class-validator starts messages with the property name; the field already says it.
      return {
        field,
        message: message.startsWith(`${error.property} `) ? message.slice(error.property.length + 1) : message,
      };
    });
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** The properties a DTO class declares validation rules for (inherited ones included), computed once per class. */
const knownProperties = new WeakMap<object, ReadonlySet<string>>();

function knownPropertiesOf(dto: new (...args: never[]) => unknown): ReadonlySet<string> {
  let known = knownProperties.get(dto);
  if (known === undefined) {
    known = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(dto, '', true, false)
        .map((rule) => rule.propertyName),
    );
    knownProperties.set(dto, known);
  }
  return known;
}

/**
 * The global validation pipe: whitelist, forbid unknown and read-only properties, transform,
 * and never coerce types implicitly (a string "5" is not a number). Failures are 400 problem+json
 * with one entry per field (at most `MAX_FIELD_ERRORS`).
 *
 * Before class-transformer sees a body or query, its keys are checked against the DTO's declared
 * properties here: class-validator's own whitelist looks names up in a plain object, so
 * `toString`, `valueOf` or `hasOwnProperty` pass it, and class-transformer's per-object key
 * handling is quadratic (90 000 unknown keys held the event loop for 22 s). Nested DTOs would need
 * the same check per level; none exist yet (the body parser bounds keys per object meanwhile).
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
      exceptionFactory: (errors) => invalidRequest(flatten(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const { metatype } = metadata;
    if (
      metatype !== undefined &&
      this.toValidate(metadata) &&
      (metadata.type === 'body' || metadata.type === 'query')
    ) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new ProblemException(
          400,
          metadata.type === 'body' ? 'The request body must be a JSON object' : 'Invalid query',
        );
      }
      const known = knownPropertiesOf(metatype as new () => unknown);
      const unknown = Object.keys(value).filter((name) => !known.has(name));
      if (unknown.length > 0) throw await this.withUnknownProperties(unknown, value, known, metadata);
    }
    return super.transform(value, metadata);
  }

  /** The 400 for a value with unknown properties, listing the known properties' errors too. */
  private async withUnknownProperties(
    unknown: string[],
    value: object,
    known: ReadonlySet<string>,
    metadata: ArgumentMetadata,
  ): Promise<ProblemException> {
    const errors = unknown.map(unknownProperty);
    const rest = Object.fromEntries(Object.entries(value).filter(([name]) => known.has(name)));
    try {
      await super.transform(rest, metadata);
    } catch (error) {
      if (!(error instanceof ProblemException) || error.problem.errors === undefined) throw error;
      errors.push(...error.problem.errors);
    }
    return invalidRequest(errors);
  }
}
