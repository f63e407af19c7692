import { STATUS_CODES } from 'node:http';
import { HttpException } from '@nestjs/common';

/** One invalid input, named by its JSON field (or query parameter, or header). */
export interface FieldError {
  field: string;
  message: string;
}

/** RFC 9457 problem details, as every error response carries them. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/**
 * An HTTP error with a human-readable detail, optional field errors, extension members and
 * response headers (e.g. `Retry-After`). The global filter turns it into problem+json.
 *
 * ```ts
 * throw new ProblemException(409, 'A product with this sku already exists', {
 *   errors: [{ field: 'sku', message: 'is already taken' }],
 * });
 * ```
 */
export class ProblemException extends HttpException {
  constructor(
    status: number,
    readonly detail: string,
    readonly problem: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      extensions?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(detail, status, { cause: problem.cause });
  }
}

export function titleOf(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** The problem+json text for `status`; the global filter and the router-level answers share it. */
export function problemJson(
  status: number,
  detail: string,
  instance: string,
  members: Partial<ProblemDetails> = {},
): string {
  const body: ProblemDetails = { type: 'about:blank', title: titleOf(status), status, detail, instance, ...members };
  return JSON.stringify(body);
}
