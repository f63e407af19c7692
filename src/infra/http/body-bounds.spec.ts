import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findBoundViolation, findForbiddenKey } from './body-bounds.js';

const bounds = { maxDepth: 3, maxKeys: 10, maxObjectKeys: 5, maxArrayLength: 3 };
const limit = (field: string, message: string) => ({ kind: 'limit', field, message });

describe('body bounds, on the text', () => {
  it('measures nesting, ignoring brackets inside strings, and names the path', () => {
    expect(findBoundViolation('[[[]]]', bounds)).toBeUndefined();
    expect(findBoundViolation('{"a":[{"b":[]}]}', bounds)).toEqual(limit('a[0].b', 'nests deeper than 3 levels'));
    expect(findBoundViolation('{"a":"[[[[\\"[[[","b":"{{{{"}', bounds)).toBeUndefined();
    expect(findBoundViolation('['.repeat(500_000), { ...bounds, maxDepth: 32 })).toMatchObject({
      message: 'nests deeper than 32 levels',
    });
  });

  it('counts keys per object and in all, and elements per array', () => {
    expect(findBoundViolation('{"a":[1,2,3,4]}', bounds)).toEqual(limit('a', 'holds more than 3 elements'));
    expect(findBoundViolation('{"a":[1,2,3],"b":[[],[],[]]}', bounds)).toBeUndefined();
    expect(findBoundViolation('{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}', bounds)).toEqual(
      limit('(body)', 'holds more than 5 properties'),
    );
    expect(findBoundViolation('{"x":{"a":1,"b":{"c:":":,"},"d":4,"e":5,"f":6}}', bounds)).toBeUndefined();
    expect(findBoundViolation('{"x":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}}', bounds)).toEqual(
      limit('x', 'holds more than 5 properties'),
    );
    const spread = JSON.stringify([
      { a: 1, b: 2, c: 3, d: 4 },
      { a: 1, b: 2, c: 3, d: 4 },
      { a: 1, b: 2, c: 3 },
    ]);
    expect(findBoundViolation(spread, bounds)).toEqual(limit('(body)', 'holds more than 10 properties in all'));
  });

  it('agrees with JSON.parse on what a valid body holds', () => {
    const body = { items: [{ sku: 'a,b:c', name: 'x\\"y' }, { tags: ['[', '{'] }], n: null };
    expect(
      findBoundViolation(JSON.stringify(body), { maxDepth: 4, maxKeys: 5, maxObjectKeys: 2, maxArrayLength: 2 }),
    ).toBeUndefined();
    expect(
      findBoundViolation(JSON.stringify(body), { maxDepth: 4, maxKeys: 4, maxObjectKeys: 2, maxArrayLength: 2 }),
    ).toBeDefined();
  });
});

/** The same bounds measured on the parsed value (recursive: test values are small). */
function exceedsOnValue(value: unknown, b: typeof bounds, depth = 1, total = { keys: 0 }): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > b.maxDepth) return true;
  const members = Array.isArray(value) ? (value as unknown[]) : Object.values(value);
  if (Array.isArray(value) ? members.length > b.maxArrayLength : members.length > b.maxObjectKeys) return true;
  if (!Array.isArray(value) && (total.keys += members.length) > b.maxKeys) return true;
  return members.some((member) => exceedsOnValue(member, b, depth + 1, total));
}

describe('body bounds agree with the parsed value', () => {
  it('for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const text = JSON.stringify(value);
        expect(findBoundViolation(text, bounds) !== undefined).toBe(exceedsOnValue(JSON.parse(text), bounds));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('forbidden keys, on the parsed value', () => {
  it('names a prototype-reaching key wherever it is, without recursion', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const body = JSON.parse(`{"items":[{"x":{"${key}":{"admin":true}}}]}`) as unknown;
      expect(findForbiddenKey(body)).toEqual({
        kind: 'forbidden-key',
        field: `items[0].x.${key}`,
        message: 'is not an allowed property name',
      });
    }
    expect(findForbiddenKey({ name: 'constructor' })).toBeUndefined();
    expect(findForbiddenKey(JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)))).toBeUndefined();
  });
});
