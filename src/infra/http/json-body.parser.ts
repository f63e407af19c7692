import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type BodyBounds, type BodyViolation, findBoundViolation, findForbiddenKey } from './body-bounds.js';
import { ProblemException } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** A JSON body's bytes exactly as they arrived (the Idempotency-Key fingerprint hashes them). */
    rawBody?: Buffer;
  }
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * Replaces Fastify's JSON parser with one that enforces the contract's body rules before anything
 * else reads the body:
 * - `Content-Encoding` other than `identity` → 415 with `Accept-Encoding: identity` (RFC 9110
 *   §15.5.16; bodies are not decompressed, so a 1 MiB limit stays a 1 MiB limit);
 * - a `charset` other than UTF-8 → 415;
 * - bytes that are not UTF-8 → 400 (never decoded into U+FFFD replacement characters);
 * - empty or malformed JSON → 400;
 * - nesting, key and array bounds (`BODY_MAX_*`), and `__proto__`/`constructor`/`prototype`
 *   keys → 400 naming the limit or the key.
 * All of them without recursion, so no body can overflow the stack.
 */
export function installJsonBodyParser(fastify: FastifyInstance, bounds: BodyBounds): void {
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    (request: FastifyRequest, raw: Buffer, done) => {
      request.rawBody = raw;
      try {
        done(null, parseJsonBody(request, raw, bounds));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
}

function parseJsonBody(request: FastifyRequest, raw: Buffer, bounds: BodyBounds): unknown {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new ProblemException(415, 'Send the request body without Content-Encoding (identity)', {
      headers: { 'accept-encoding': 'identity' },
    });
  }
  const charset = CHARSET.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ProblemException(415, 'Send the request body as UTF-8 (Content-Type: application/json; charset=utf-8)');
  }
  if (raw.length === 0) throw new ProblemException(400, 'The request body is empty; send a JSON object');
  if (!isUtf8(raw)) throw new ProblemException(400, 'The request body is not valid UTF-8');
  const text = raw.toString('utf8');
  const exceeded = findBoundViolation(text, bounds);
  if (exceeded !== undefined)
    throw invalidBody(exceeded, `The request body exceeds a limit: ${exceeded.field} ${exceeded.message}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProblemException(400, 'The request body is not valid JSON');
  }
  const forbidden = findForbiddenKey(body);
  if (forbidden !== undefined) throw invalidBody(forbidden, `The property "${forbidden.field}" is not allowed`);
  return body;
}

function invalidBody({ field, message }: BodyViolation, detail: string): ProblemException {
  return new ProblemException(400, detail, { errors: [{ field, message }] });
}
