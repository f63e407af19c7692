/** Limits on the shape of a parsed JSON body (see `BODY_MAX_*` in http.config.ts). */
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

/** What is wrong with a body, phrased for the client; `field` is the dotted path where it was found. */
export interface BodyViolation {
  /** A bound exceeded, or a key that is never allowed. */
  kind: 'limit' | 'forbidden-key';
  field: string;
  message: string;
}

/** Keys that reach an object's prototype when a parsed body is merged or assigned somewhere. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether JSON text nests objects/arrays deeper than `maxDepth` (the top-level value is level 1).
 * A scan of the raw text, before `JSON.parse`: a 1 MiB body of 500 000 brackets costs the parser
 * ~170 ms, this scan a few. Brackets inside strings do not count; the text need not be valid JSON.
 */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === BACKSLASH) index++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/**
 * One linear pass over a value `JSON.parse` produced, without recursion: the first key or array
 * bound exceeded, or a forbidden key, or `undefined` when the body is within bounds. Each value is
 * visited once and the walk stops at the first violation, so its cost is bounded by the body's
 * size. (Depth is checked on the text first, by `nestsDeeperThan`.)
 */
export function findBodyViolation(body: unknown, bounds: Omit<BodyBounds, 'maxDepth'>): BodyViolation | undefined {
  const pending: Array<{ value: object; path: string }> = [];
  if (body !== null && typeof body === 'object') pending.push({ value: body, path: '' });
  let keys = 0;
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path } = next;
    const where = path === '' ? '(body)' : path;
    if (Array.isArray(value)) {
      if (value.length > bounds.maxArrayLength) {
        return { kind: 'limit', field: where, message: `holds more than ${bounds.maxArrayLength} elements` };
      }
      for (let index = 0; index < value.length; index++) {
        const member: unknown = value[index];
        if (member !== null && typeof member === 'object') pending.push({ value: member, path: `${path}[${index}]` });
      }
      continue;
    }
    const names = Object.keys(value);
    if (names.length > bounds.maxObjectKeys) {
      return { kind: 'limit', field: where, message: `holds more than ${bounds.maxObjectKeys} properties` };
    }
    keys += names.length;
    if (keys > bounds.maxKeys) {
      return { kind: 'limit', field: '(body)', message: `holds more than ${bounds.maxKeys} properties in all` };
    }
    for (const name of names) {
      const field = path === '' ? name : `${path}.${name}`;
      if (FORBIDDEN_KEYS.has(name)) return { kind: 'forbidden-key', field, message: 'is not an allowed property name' };
      const member: unknown = (value as Record<string, unknown>)[name];
      if (member !== null && typeof member === 'object') pending.push({ value: member, path: field });
    }
  }
  return undefined;
}
