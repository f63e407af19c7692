import { QueryFailedError } from 'typeorm';

interface DriverError {
  code?: string;
  constraint?: string;
}

function driverErrorOf(error: unknown): DriverError | undefined {
  if (error instanceof QueryFailedError) return error.driverError as DriverError;
  if (typeof error === 'object' && error !== null && 'code' in error) return error as DriverError;
  return undefined;
}

/** SQLSTATE 23505, optionally on one named constraint (e.g. `products_sku_lower_uq`). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const driverError = driverErrorOf(error);
  return driverError?.code === '23505' && (constraint === undefined || driverError.constraint === constraint);
}

/** SQLSTATE 23503, optionally on one named foreign key (e.g. `orders_product_id_fkey`): a reference to a missing row. */
export function isForeignKeyViolation(error: unknown, constraint?: string): boolean {
  const driverError = driverErrorOf(error);
  return driverError?.code === '23503' && (constraint === undefined || driverError.constraint === constraint);
}

/** Any integrity constraint violation (class 23): the client's request conflicts with stored data. */
export function isConstraintViolation(error: unknown): boolean {
  return driverErrorOf(error)?.code?.startsWith('23') ?? false;
}

const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57014', // query_canceled (statement timeout)
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

const unavailableMessages = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
];

/** The database could not be reached or gave up: a 503 for the client, not a 500. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = driverErrorOf(error)?.code;
  if (code !== undefined && unavailableCodes.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return unavailableMessages.some((pattern) => pattern.test(message));
}
