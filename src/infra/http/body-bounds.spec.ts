import { describe, expect, it } from 'vitest';
import { findBodyViolation, nestsDeeperThan } from './body-bounds.js';

const bounds = { maxKeys: 10, maxObjectKeys: 5, maxArrayLength: 3 };

describe('body bounds', () => {
  it('measures nesting on the text, ignoring brackets inside strings', () => {
    expect(nestsDeeperThan('[[[]]]', 3)).toBe(false);
    expect(nestsDeeperThan('[[[[]]]]', 3)).toBe(true);
    expect(nestsDeeperThan('{"a":"[[[[\\"[[["}', 1)).toBe(false);
    expect(nestsDeeperThan('['.repeat(500_000), 32)).toBe(true);
  });

  it('finds the first bound exceeded without recursion, on a body nested 200 000 levels deep', () => {
    const deep = JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)) as unknown;
    expect(findBodyViolation(deep, { maxKeys: 1, maxObjectKeys: 1, maxArrayLength: 1 })).toBeUndefined();
    expect(findBodyViolation({ a: [1, 2, 3, 4] }, bounds)).toEqual({
      kind: 'limit',
      field: 'a',
      message: 'holds more than 3 elements',
    });
    expect(findBodyViolation({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }, bounds)).toEqual({
      kind: 'limit',
      field: '(body)',
      message: 'holds more than 5 properties',
    });
    expect(
      findBodyViolation(
        [
          { a: 1, b: 2, c: 3, d: 4 },
          { a: 1, b: 2, c: 3, d: 4 },
          { a: 1, b: 2, c: 3 },
        ],
        bounds,
      ),
    ).toMatchObject({ message: 'holds more than 10 properties in all' });
  });

  it('names a prototype-reaching key wherever it is', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const body = JSON.parse(`{"items":[{"x":{"${key}":{"admin":true}}}]}`) as unknown;
      expect(findBodyViolation(body, bounds)).toEqual({
        kind: 'forbidden-key',
        field: `items[0].x.${key}`,
        message: 'is not an allowed property name',
      });
    }
    expect(findBodyViolation({ name: 'constructor' }, bounds)).toBeUndefined();
  });
});
