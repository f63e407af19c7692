/** A position in a newest-first listing: the last item's creation time and id. */
export interface Cursor {
  createdAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * `toISOString()` of a year 0000–9999 (four digits, no sign). JavaScript dates reach ±275 760 and
 * print those with a sign and six digits; PostgreSQL's timestamptz holds 4713 BC to 294276 AD, so
 * a forged cursor of year -271821 would reach the database and fail there ("timestamp out of range").
 */
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString('base64url');
}

/** A cursor this API did not write (forged, truncated, or from another listing); the problem filter answers 400. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';

  constructor() {
    super('The cursor is invalid');
  }
}

/** @throws InvalidCursorError when the cursor was not produced by `encodeCursor`. */
export function decodeCursor(value: string): Cursor {
  const invalid = () => new InvalidCursorError();
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(value)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw invalid();
  const [createdAt, id] = parsed as unknown[];
  if (typeof id !== 'string' || !UUID.test(id)) throw invalid();
  if (typeof createdAt !== 'string' || !ISO_TIMESTAMP.test(createdAt)) throw invalid();
  const date = new Date(createdAt);
  if (Number.isNaN(date.getTime()) || date.toISOString() !== createdAt) throw invalid();
  return { createdAt: date, id };
}

/** A page of a listing, as every list endpoint answers. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
