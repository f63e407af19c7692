import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type BodyBounds, findBodyViolation, nestsDeeperThan } from './body-bounds.js';
import { ProblemException } from './problem.js';

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
  if (nestsDeeperThan(text, bounds.maxDepth)) {
    throw invalidBody(
      { field: '(body)', message: `nests deeper than ${bounds.maxDepth} levels` },
      'The request body nests too deeply',
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProblemException(400, 'The request body is not valid JSON');
  }
  const violation = findBodyViolation(body, bounds);
  if (violation !== undefined) {
    const { field, message } = violation;
    const detail =
      violation.kind === 'forbidden-key'
        ? `The property "${field}" is not allowed`
        : `The request body exceeds a limit: ${field} ${message}`;
    throw invalidBody({ field, message }, detail);
  }
  return body;
}

function invalidBody(error: { field: string; message: string }, detail: string): ProblemException {
  return new ProblemException(400, detail, { errors: [error] });
}
