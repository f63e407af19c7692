import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, InvalidCursorError } from './cursor.js';

describe('opaque cursors', () => {
  it('round-trips any position', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(0), max: new Date('2999-12-31'), noInvalidDate: true }),
        fc.uuid(),
        (createdAt, id) => {
          expect(decodeCursor(encodeCursor({ createdAt, id }))).toEqual({ createdAt, id });
        },
      ),
    );
  });

  it('rejects anything it did not produce', () => {
    const bad = [
      '',
      '%%%',
      'a'.repeat(500),
      Buffer.from('[]').toString('base64url'),
      Buffer.from(`["yesterday","${randomUUID()}"]`).toString('base64url'),
      Buffer.from('["2020-01-01T00:00:00.000Z",1]').toString('base64url'),
    ];
    for (const cursor of bad) {
      expect(() => decodeCursor(cursor)).toThrow(InvalidCursorError);
    }
    fc.assert(
      fc.property(fc.string(), (value) => {
        try {
          // Whatever decodes is a cursor this module could have written.
          expect(encodeCursor(decodeCursor(value))).toBe(value);
        } catch (error) {
          if (!(error instanceof InvalidCursorError)) throw error;
        }
      }),
    );
  });

  it('rejects a date PostgreSQL cannot hold (outside years 0000-9999)', () => {
    for (const time of [-8.64e15, 8.64e15, Date.UTC(10_000, 0, 1), Date.UTC(-1, 0, 1)]) {
      const forged = Buffer.from(JSON.stringify([new Date(time).toISOString(), randomUUID()])).toString('base64url');
      expect(() => decodeCursor(forged)).toThrow(InvalidCursorError);
    }
  });
});
