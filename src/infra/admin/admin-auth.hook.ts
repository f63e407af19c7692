import { timingSafeEqual } from 'node:crypto';
import type { FastifyCorsOptions, FastifyCorsOptionsDelegateCallback } from '@fastify/cors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AuthFailureLimiter, type AuthRefusal, bearerTokenOf, secretDigest } from '../auth/index.js';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails, titleOf } from '../http/index.js';

/** Everything under this prefix is operator-only: the dashboard, its API and assets, dead letters. */
export const ADMIN_PREFIX = '/admin';

/** The credential a request presents: a bearer token, or the password of HTTP Basic (any user name). */
export function presentedAdminToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const bearer = bearerTokenOf(authorization);
  if (bearer !== undefined) return bearer;
  const basic = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(authorization);
  if (!basic?.[1]) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/**
 * Whether a request falls under `/admin`. The route template Fastify matched decides, so spellings
 * the router treats as the same route (`/%61dmin/…`) cannot slip past the guard; a request that
 * matched no route is judged on its decoded, normalised path.
 */
export function isAdminRequest(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  // `*` is the catch-all (the CORS plugin's OPTIONS route): it says nothing about the path.
  return route !== undefined && route !== '*' ? isAdminPath(route) : isAdminPath(normalisedPath(request.url));
}

/**
 * CORS for every route but `/admin`: the admin surface is for operators (curl, the dashboard on
 * its own origin), never for scripts on other origins, so a preflight to it gets no CORS answer
 * and meets the admin check like any other request.
 *
 * ```ts
 * app.enableCors({ delegator: corsExceptAdmin({ origin: ['https://app.example.com'] }) });
 * ```
 */
export function corsExceptAdmin(options: FastifyCorsOptions): FastifyCorsOptionsDelegateCallback {
  return (request, callback) => callback(null, isAdminRequest(request) ? { origin: false } : options);
}

function isAdminPath(path: string): boolean {
  return path === ADMIN_PREFIX || path.startsWith(`${ADMIN_PREFIX}/`);
}

function normalisedPath(url: string): string {
  const path = url.split('?')[0] ?? '/';
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // A malformed escape cannot match a route; compare the raw path.
  }
  return decoded.replace(/\/{2,}/g, '/').toLowerCase();
}

/**
 * Installs the `/admin/*` guard as a root `onRequest` hook, so it covers every route under the
 * prefix, including those a plugin (bull-board) registers itself. Call it before the app is
 * initialised: Fastify copies root hooks into a plugin's context when the plugin loads.
 *
 * - `ADMIN_TOKEN` unset → `404` for the whole prefix (admin is off, and says nothing about itself);
 * - no credential → `401` with `WWW-Authenticate: Basic` (so a browser prompts);
 * - a wrong one → `403`, counted against the client IP's `AUTH_FAILURE_LIMIT` (shared with wrong
 *   API keys); past it, `429` with `Retry-After` before the token is even compared.
 *
 * The token is compared as a SHA-256 digest with `timingSafeEqual`, so timing reveals nothing.
 *
 * ```ts
 * installAdminGuard(app.getHttpAdapter().getInstance(), authConfig().adminToken, app.get(AuthFailureLimiter));
 * ```
 */
export function installAdminGuard(
  fastify: FastifyInstance,
  adminToken: string | undefined,
  failures: Pick<AuthFailureLimiter, 'refusalBeforeCheck' | 'recordFailure'>,
): void {
  const expected = adminToken === undefined ? undefined : secretDigest(adminToken);
  fastify.addHook('onRequest', async (request, reply) => {
    if (!isAdminRequest(request)) return;
    if (expected === undefined) return refuse(request, reply, 404, 'Not Found');
    const presented = presentedAdminToken(request.headers.authorization);
    if (presented === undefined) {
      void reply.header('www-authenticate', 'Basic realm="admin", charset="UTF-8"');
      return refuse(request, reply, 401, 'The admin API needs the admin token (Bearer, or as the Basic password)');
    }
    const locked = await failures.refusalBeforeCheck(request, reply);
    if (locked !== undefined) return refuseWith(request, reply, locked);
    if (timingSafeEqual(secretDigest(presented), expected)) return;
    const refusal = await failures.recordFailure(request, reply);
    if (refusal !== undefined) return refuseWith(request, reply, refusal);
    return refuse(request, reply, 403, 'The admin token is not valid');
  });
}

function refuseWith(request: FastifyRequest, reply: FastifyReply, refusal: AuthRefusal): FastifyReply {
  void reply.headers(refusal.headers);
  return refuse(request, reply, refusal.status, refusal.detail);
}

/**
 * Answers problem+json directly: bull-board's plugin has its own error handler, so no throwing.
 * Returns the reply, as an async hook must once it has sent one.
 */
function refuse(request: FastifyRequest, reply: FastifyReply, status: number, detail: string): FastifyReply {
  const body: ProblemDetails = {
    type: 'about:blank',
    title: titleOf(status),
    status,
    detail: status === 404 ? `Cannot ${request.method} ${request.url.split('?')[0] ?? '/'}` : detail,
    instance: request.url.split('?')[0] ?? '/',
  };
  return reply
    .code(status)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('cache-control', 'no-store')
    .send(JSON.stringify(body));
}
