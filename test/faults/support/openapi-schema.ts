import fc from 'fast-check';

/** The subset of OpenAPI 3.0 schema objects that @nestjs/swagger emits for this service. */
export interface Schema {
  $ref?: string;
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean';
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: unknown[];
  nullable?: boolean;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

export interface Operation {
  operationId?: string;
  parameters?: Array<{ name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema?: Schema }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

const FORMATS: Record<string, RegExp> = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
  email: /^[^@\s]+@[^@\s]+$/,
  uri: /^[a-z][a-z0-9+.-]*:\S+$/i,
};

/**
 * Checks `value` against `schema` and returns what is wrong (empty when it matches). Objects with
 * `properties` and no `additionalProperties` are closed: the contract says a body has exactly the
 * documented fields.
 */
export function schemaErrors(doc: OpenApiDocument, schema: Schema, value: unknown, path = '$'): string[] {
  if (schema.$ref) return schemaErrors(doc, resolveRef(doc, schema.$ref), value, path);
  if (schema.allOf) return schema.allOf.flatMap((part) => schemaErrors(doc, part, value, path));
  if (schema.oneOf ?? schema.anyOf) {
    const options = (schema.oneOf ?? schema.anyOf)!;
    return options.some((part) => schemaErrors(doc, part, value, path).length === 0)
      ? []
      : [`${path}: matches none of the alternatives`];
  }
  if (value === null) return schema.nullable ? [] : [`${path}: null is not allowed`];
  const errors: string[] = [];
  if (schema.enum && !schema.enum.includes(value))
    errors.push(`${path}: ${JSON.stringify(value)} is not one of the enum`);
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected an object`];
      const record = value as Record<string, unknown>;
      for (const name of schema.required ?? []) if (!(name in record)) errors.push(`${path}.${name}: required`);
      for (const [name, member] of Object.entries(record)) {
        const property = schema.properties?.[name];
        if (property) errors.push(...schemaErrors(doc, property, member, `${path}.${name}`));
        else if (typeof schema.additionalProperties === 'object')
          errors.push(...schemaErrors(doc, schema.additionalProperties, member, `${path}.${name}`));
        else if (schema.additionalProperties !== true && schema.properties)
          errors.push(`${path}.${name}: not documented`);
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${path}: expected an array`];
      if (schema.minItems !== undefined && value.length < schema.minItems)
        errors.push(`${path}: fewer than ${schema.minItems} items`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems)
        errors.push(`${path}: more than ${schema.maxItems} items`);
      if (schema.items)
        value.forEach((item, index) => errors.push(...schemaErrors(doc, schema.items!, item, `${path}[${index}]`)));
      break;
    case 'string':
      if (typeof value !== 'string') return [`${path}: expected a string`];
      if (schema.minLength !== undefined && value.length < schema.minLength)
        errors.push(`${path}: shorter than ${schema.minLength}`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength)
        errors.push(`${path}: longer than ${schema.maxLength}`);
      if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value))
        errors.push(`${path}: does not match ${schema.pattern}`);
      if (schema.format && FORMATS[schema.format] && !FORMATS[schema.format]!.test(value))
        errors.push(`${path}: not a ${schema.format}`);
      break;
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || !Number.isFinite(value)) return [`${path}: expected a number`];
      if (schema.type === 'integer' && !Number.isInteger(value)) errors.push(`${path}: expected an integer`);
      if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: below ${schema.minimum}`);
      if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: above ${schema.maximum}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push(`${path}: expected a boolean`);
      break;
    default:
      break;
  }
  return errors;
}

export function resolveRef(doc: OpenApiDocument, ref: string): Schema {
  const name = ref.replace('#/components/schemas/', '');
  const schema = doc.components.schemas[name];
  if (!schema) throw new Error(`unresolved $ref ${ref}`);
  return schema;
}

/** Values that match `schema` (arrays capped at a few items, so an import stays small). */
export function validValue(doc: OpenApiDocument, schema: Schema): fc.Arbitrary<unknown> {
  if (schema.$ref) return validValue(doc, resolveRef(doc, schema.$ref));
  const base = validNonNull(doc, schema);
  return schema.nullable ? fc.oneof(base, fc.constant(null)) : base;
}

function validNonNull(doc: OpenApiDocument, schema: Schema): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'object': {
      const properties = schema.properties ?? {};
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries(properties)) model[name] = validValue(doc, property);
      return fc.record(model, { requiredKeys: (schema.required ?? []).filter((name) => name in properties) });
    }
    case 'array':
      return fc.array(validValue(doc, schema.items ?? {}), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 5, 5),
      });
    case 'string':
      return validString(schema);
    case 'number':
    case 'integer':
      // @nestjs/swagger writes `number` for every TS number; these fields are all integers.
      return fc.integer({ min: Math.ceil(schema.minimum ?? -1_000_000), max: Math.floor(schema.maximum ?? 1_000_000) });
    case 'boolean':
      return fc.boolean();
    default:
      return fc.jsonValue();
  }
}

function validString(schema: Schema): fc.Arbitrary<string> {
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.format === 'email') {
    return fc
      .tuple(fc.stringMatching(/^[a-z0-9._-]{1,20}$/), fc.constantFrom('example.com', 'test.org'))
      .map(([local, domain]) => `${local.replace(/^\.|\.$/g, 'x').replace(/\.\./g, '.x')}@${domain}`);
  }
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 300, 300);
  return fc
    .string({ unit: 'grapheme', minLength, maxLength })
    .map((text) => text.replaceAll(String.fromCharCode(0), ''))
    .filter((text) => text.length >= minLength && (minLength === 0 || text.trim().length > 0));
}

/** Values that break `schema` in one way: wrong type, out of range, too long, bad format, unknown or read-only member. */
export function invalidValue(doc: OpenApiDocument, schema: Schema): fc.Arbitrary<unknown> {
  if (schema.$ref) return invalidValue(doc, resolveRef(doc, schema.$ref));
  const wrongType = fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.object({ maxDepth: 1 }),
  );
  const options: fc.Arbitrary<unknown>[] = [wrongType.filter((v) => schemaErrors(doc, schema, v).length > 0)];
  if (!schema.nullable) options.push(fc.constant(null));
  switch (schema.type) {
    case 'object': {
      const valid = validNonNull(doc, schema) as fc.Arbitrary<Record<string, unknown>>;
      const required = schema.required ?? [];
      if (required.length > 0)
        options.push(fc.tuple(valid, fc.constantFrom(...required)).map(([v, name]) => omit(v, name)));
      options.push(
        fc
          .tuple(
            valid,
            fc.constantFrom('id', 'version', 'createdAt', 'updatedAt', 'unknownField', '__proto__', 'constructor'),
            fc.jsonValue(),
          )
          .map(([v, name, extra]) => ({ ...v, [name]: extra })),
      );
      const properties = Object.entries(schema.properties ?? {});
      if (properties.length > 0) {
        options.push(
          fc
            .tuple(valid, fc.constantFrom(...properties))
            .chain(([v, [name, property]]) => invalidValue(doc, property).map((bad) => ({ ...v, [name]: bad }))),
        );
      }
      break;
    }
    case 'array':
      if (schema.minItems) options.push(fc.constant([]));
      if (schema.items) options.push(fc.array(invalidValue(doc, schema.items), { minLength: 1, maxLength: 3 }));
      break;
    case 'string':
      if (schema.maxLength !== undefined) options.push(fc.constant('x'.repeat(schema.maxLength + 1)));
      if (schema.minLength) options.push(fc.constantFrom('', '   '));
      if (schema.pattern || schema.format || schema.enum) {
        // Only the candidates this schema really rejects ('eur' is a fine sku, say).
        const candidates = ['', 'not valid!', 'a\u0000b', 'eur', '../../etc/passwd', "' OR 1=1 --"].filter(
          (v) => schemaErrors(doc, schema, v).length > 0,
        );
        if (candidates.length > 0) options.push(fc.constantFrom(...candidates));
      }
      options.push(fc.constant('nul\u0000inside'));
      break;
    case 'number':
    case 'integer':
      if (schema.minimum !== undefined) options.push(fc.constant(schema.minimum - 1));
      if (schema.maximum !== undefined) options.push(fc.constant(schema.maximum + 1));
      options.push(fc.constantFrom(0.5, 1e308, -1e308, 2 ** 53 + 1));
      break;
    default:
      break;
  }
  return fc.oneof(...options);
}

function omit(value: Record<string, unknown>, name: string): Record<string, unknown> {
  const copy = { ...value };
  delete copy[name];
  return copy;
}
