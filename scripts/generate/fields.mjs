// Parses `npm run generate -- resource <plural> field:type[:option…]…` into a resource description,
// refusing anything it cannot generate correctly (the caller then writes nothing).

export class GeneratorError extends Error {}

const RESERVED = new Set(['id', 'version', 'createdAt', 'updatedAt']);
const INT32 = [-2_147_483_648, 2_147_483_647];

export const USAGE = `usage: npm run generate -- resource <plural-name> <field>:<type>[:<option>…] …

  <plural-name>  kebab case, plural: orders, line-items
  types          text:<max length>  email  int:<min>:<max>  bool  enum:<a,b,…>  ref:<resource>  timestamp
  modifiers      unique (text and email, case-insensitive)  optional (nullable, null when omitted)

  npm run generate -- resource orders productId:ref:products quantity:int:1:10000 \\
    status:enum:pending,paid,shipped reference:text:64:unique note:text:500:optional`;

const pascal = (kebab) => kebab.replace(/(^|-)([a-z0-9])/g, (_m, _dash, letter) => letter.toUpperCase());
const camel = (kebab) => kebab.replace(/-([a-z0-9])/g, (_m, letter) => letter.toUpperCase());
const snake = (name) => name.replace(/-/g, '_').replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** `orders` → `order`, `categories` → `category`, `boxes` → `box`. */
function singularOf(plural) {
  if (/ies$/.test(plural)) return plural.replace(/ies$/, 'y');
  if (/(s|x|z|ch|sh)es$/.test(plural)) return plural.replace(/es$/, '');
  if (/[^s]s$/.test(plural)) return plural.slice(0, -1);
  throw new GeneratorError(
    `"${plural}" does not look plural: name the resource as its collection (orders, line-items)`,
  );
}

/** The names a resource is written under, from its plural kebab-case name. */
export function namesOf(plural) {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(plural)) {
    throw new GeneratorError(`resource name "${plural}" must be kebab case, e.g. orders or line-items`);
  }
  const singular = singularOf(plural);
  return {
    plural, // orders (folder, path)
    singular, // order (file names, aggregate type, key prefix)
    Plural: pascal(plural), // Orders (module, controller, service)
    Singular: pascal(singular), // Order (entity, DTOs)
    pluralCamel: camel(plural), // orders (constructor parameter)
    singularCamel: camel(singular), // order (variables, aggregate)
    SINGULAR: snake(singular).toUpperCase(),
    PLURAL: snake(plural).toUpperCase(),
    table: snake(plural), // orders
    words: singular.replace(/-/g, ' '), // line item (messages)
    // "an order", "a tag": by the first letter, which the generated code states (edit it for "a user", "an hour").
    aWords: `${/^[aeiou]/.test(singular) ? 'an' : 'a'} ${singular.replace(/-/g, ' ')}`,
  };
}

function integer(text, what) {
  if (!/^-?\d+$/.test(text ?? '')) throw new GeneratorError(`${what} must be a whole number, got "${text ?? ''}"`);
  const value = Number(text);
  if (value < INT32[0] || value > INT32[1]) throw new GeneratorError(`${what} must fit a 32-bit integer`);
  return value;
}

/** One `name:type[:option…]` argument. `resourceExists(plural)` says whether a ref target is there. */
export function parseField(argument, resourceExists) {
  const [name, type, ...rest] = argument.split(':');
  if (!name || !/^[a-z][a-zA-Z0-9]*$/.test(name)) {
    throw new GeneratorError(`field "${argument}": the name must be camel case (quantity, productId)`);
  }
  if (RESERVED.has(name)) throw new GeneratorError(`field "${name}" is one every resource already has`);
  const modifiers = new Set(rest.filter((part) => part === 'unique' || part === 'optional'));
  const options = rest.filter((part) => part !== 'unique' && part !== 'optional');
  const field = {
    name,
    column: snake(name),
    type,
    unique: modifiers.has('unique'),
    optional: modifiers.has('optional'),
  };
  const fail = (why) => new GeneratorError(`field "${argument}": ${why}`);
  const expectOptions = (count, shape) => {
    if (options.length !== count) throw fail(`expected ${name}:${shape}`);
  };
  switch (type) {
    case 'text': {
      expectOptions(1, 'text:<max length>[:unique][:optional]');
      field.max = integer(options[0], `${name}'s max length`);
      if (field.max < 1 || field.max > 10_000) throw fail('the max length must be 1 to 10000');
      break;
    }
    case 'email':
      expectOptions(0, 'email[:unique][:optional]');
      field.max = 254;
      break;
    case 'int': {
      expectOptions(2, 'int:<min>:<max>[:optional]');
      field.min = integer(options[0], `${name}'s min`);
      field.max = integer(options[1], `${name}'s max`);
      if (field.min > field.max) throw fail('min is greater than max');
      break;
    }
    case 'bool':
      expectOptions(0, 'bool[:optional]');
      break;
    case 'enum': {
      expectOptions(1, 'enum:<a,b,…>[:optional]');
      field.values = options[0].split(',');
      if (field.values.some((value) => !/^[a-z][a-z0-9_-]*$/.test(value))) {
        throw fail('enum values must be lower case words (pending,paid,shipped)');
      }
      if (new Set(field.values).size !== field.values.length) throw fail('an enum value is repeated');
      field.max = Math.max(...field.values.map((value) => value.length));
      break;
    }
    case 'ref': {
      expectOptions(1, 'ref:<resource>[:optional]');
      field.target = namesOf(options[0]);
      if (!resourceExists(options[0])) throw fail(`there is no resource "${options[0]}" in src/modules/`);
      break;
    }
    case 'timestamp':
      expectOptions(0, 'timestamp[:optional]');
      break;
    default:
      throw fail(`unknown type "${type ?? ''}" (text, email, int, bool, enum, ref, timestamp)`);
  }
  if (field.unique && type !== 'text' && type !== 'email') {
    throw fail('unique is supported on text and email fields (case-insensitive)');
  }
  return field;
}

/** The whole command line after `resource`. */
export function parseResource(args, resourceExists) {
  const [plural, ...fieldArgs] = args;
  if (!plural) throw new GeneratorError('missing the resource name');
  const names = namesOf(plural);
  if (resourceExists(plural)) throw new GeneratorError(`src/modules/${plural} already exists`);
  if (fieldArgs.length === 0) throw new GeneratorError('a resource needs at least one field');
  const fields = fieldArgs.map((argument) => parseField(argument, resourceExists));
  const seen = new Set();
  for (const field of fields) {
    if (seen.has(field.name)) throw new GeneratorError(`field "${field.name}" is given twice`);
    seen.add(field.name);
  }
  return { names, fields };
}
