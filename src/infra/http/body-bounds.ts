/** Limits on the shape of a JSON body (see `BODY_MAX_*` in http.config.ts). */
export interface BodyBounds {
  /** Nesting levels of objects and arrays; the top-level value is level 1. */
  maxDepth: number;
  /** Object keys in the whole body. */
  maxKeys: number;
  /** Keys in any one object (class-transformer's per-object key handling is quadratic). */
  maxObjectKeys: number;
  /** Elements in any one array. */
  maxArrayLength: number;
}

/** What is wrong with a body, phrased for the client; `field` is the path where it was found. */
export interface BodyViolation {
  /** A bound exceeded, or a key that is never allowed. */
  kind: 'limit' | 'forbidden-key';
  field: string;
  message: string;
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;

/** One open object or array during the scan. */
interface Level {
  isArray: boolean;
  /** Keys seen (object) or commas seen (array: elements - 1). */
  count: number;
  /** This level's path segment in its parent ("name" or "[3]"), for messages. */
  segment: string;
}

/**
 * One linear scan of JSON text, before `JSON.parse`, without recursion: the first bound exceeded,
 * or `undefined`. Checking the text rather than the parsed value means a violating body is never
 * built: parsing 90 000 keys of one object costs V8 60–150 ms (dictionary-mode objects), and a
 * 1 MiB body of brackets ~170 ms; the scan costs a few ms. Exact for valid JSON; for invalid text
 * it may report a limit where `JSON.parse` would report a syntax error (a 400 either way).
 */
export function findBoundViolation(text: string, bounds: BodyBounds): BodyViolation | undefined {
  const levels: Level[] = [];
  let keys = 0;
  let inString = false;
  let stringStart = 0;
  let lastString = '';
  const pathOf = () => {
    let path = '';
    for (let depth = 1; depth < levels.length; depth++) {
      const { segment } = levels[depth]!;
      path += levels[depth - 1]!.isArray || path === '' ? segment : `.${segment}`;
    }
    return path === '' ? '(body)' : path;
  };
  const limit = (field: string, message: string): BodyViolation => ({ kind: 'limit', field, message });
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === BACKSLASH) index++;
      else if (code === QUOTE) {
        inString = false;
        // Only an object key is ever read back (for a message), and keys are short.
        if (index - stringStart <= 200) lastString = text.slice(stringStart + 1, index);
      }
      continue;
    }
    if (code === QUOTE) {
      inString = true;
      stringStart = index;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      const parent = levels[levels.length - 1];
      const segment = parent === undefined ? '' : parent.isArray ? `[${parent.count}]` : lastString;
      levels.push({ isArray: code === OPEN_BRACKET, count: 0, segment });
      if (levels.length > bounds.maxDepth) return limit(pathOf(), `nests deeper than ${bounds.maxDepth} levels`);
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      levels.pop();
    } else if (code === COLON) {
      const level = levels[levels.length - 1];
      if (level === undefined || level.isArray) continue;
      if (++level.count > bounds.maxObjectKeys)
        return limit(pathOf(), `holds more than ${bounds.maxObjectKeys} properties`);
      if (++keys > bounds.maxKeys) return limit('(body)', `holds more than ${bounds.maxKeys} properties in all`);
    } else if (code === COMMA) {
      const level = levels[levels.length - 1];
      if (level?.isArray !== true) continue;
      if (++level.count >= bounds.maxArrayLength)
        return limit(pathOf(), `holds more than ${bounds.maxArrayLength} elements`);
    }
  }
  return undefined;
}

/** Keys that reach an object's prototype when a parsed body is merged or assigned somewhere. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The first `__proto__`, `constructor` or `prototype` key anywhere in a parsed body, walked
 * without recursion (the text's depth is bounded first, but nothing here relies on it).
 */
export function findForbiddenKey(body: unknown): BodyViolation | undefined {
  const pending: Array<{ value: object; path: string }> = [];
  if (body !== null && typeof body === 'object') pending.push({ value: body, path: '' });
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path } = next;
    if (Array.isArray(value)) {
      value.forEach((member: unknown, index) => {
        if (member !== null && typeof member === 'object') pending.push({ value: member, path: `${path}[${index}]` });
      });
      continue;
    }
    for (const [name, member] of Object.entries(value)) {
      const field = path === '' ? name : `${path}.${name}`;
      if (FORBIDDEN_KEYS.has(name)) return { kind: 'forbidden-key', field, message: 'is not an allowed property name' };
      if (member !== null && typeof member === 'object') pending.push({ value: member as object, path: field });
    }
  }
  return undefined;
}
