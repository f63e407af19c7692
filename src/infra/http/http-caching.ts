import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isApiPath } from './api-path.js';
import { ifNoneMatchHitsTag, weakEtagOf } from './etag.js';

/**
 * What `Cache-Control` says, by kind of answer (docs/operations.md, "HTTP caching"):
 * - API reads (200 and 304 under /v1): `private, no-cache`. Every reuse is revalidated with the
 *   ETag, so a cache never serves an old entity after a write (read-after-write holds through a
 *   CDN with a default TTL), and `private` keeps shared caches out: answers carry per-client
 *   `RateLimit` fields, and every read of a product counts a view of its caller.
 * - Writes, errors, admin, metrics and health: `no-store` (nothing there is worth keeping, and a
 *   stored 503 or 429 would outlive its cause).
 * - The docs UI's static files (Swagger UI's bundle, css, icons): `public, max-age=3600`; they
 *   change only when the service is upgraded, and carry an ETag for revalidation afterwards.
 * - The docs page and `/docs-json`: `no-cache` (they change on every deploy).
 */
export const CACHE_CONTROL = {
  apiRead: 'private, no-cache',
  noStore: 'no-store',
  docsAsset: 'public, max-age=3600',
  docs: 'no-cache',
} as const;

const NO_STORE_PREFIXES = ['/admin', '/metrics', '/health'];

/** The Cache-Control value for one answer; `routeValue` is what the route set itself, if anything. */
export function cacheControlFor(request: FastifyRequest, statusCode: number, routeValue: string | undefined): string {
  const path = routePathOf(request);
  if (statusCode >= 400) return CACHE_CONTROL.noStore;
  if (NO_STORE_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`)))
    return CACHE_CONTROL.noStore;
  if (request.method !== 'GET' && request.method !== 'HEAD') return CACHE_CONTROL.noStore;
  if (isDocsAsset(request)) return CACHE_CONTROL.docsAsset;
  // A route that says it itself (`@Header('Cache-Control', …)`) knows better than the defaults.
  if (routeValue !== undefined) return routeValue;
  if (path === '/docs' || path.startsWith('/docs/') || path === '/docs-json') return CACHE_CONTROL.docs;
  return CACHE_CONTROL.apiRead;
}

/**
 * One `onSend` hook for every answer, the cached-GET fast path's included (it sends through
 * Fastify like any route): sets `Cache-Control`, adds `Vary: accept-encoding` to reads whose
 * encoding is negotiated, and gives API reads that have no ETag of their own (list pages, popular
 * products, stats, job status) a weak one from their body, answering a matching `If-None-Match`
 * with a bodyless 304. It runs before compression (route-level hooks run after global ones), so
 * the ETag is computed from the JSON itself.
 */
export function installHttpCaching(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    let body = payload;
    if (reply.statusCode === 200 && isRead(request) && isApiPath(routePathOf(request)) && !reply.hasHeader('etag')) {
      body = withBodyEtag(request, reply, payload);
    }
    const routeValue = reply.getHeader('cache-control');
    const cacheControl = cacheControlFor(
      request,
      reply.statusCode,
      typeof routeValue === 'string' ? routeValue : undefined,
    );
    void reply.header('cache-control', cacheControl);
    if (negotiatesEncoding(request, reply, cacheControl)) addVary(reply, 'accept-encoding');
    done(null, body);
  });
}

function withBodyEtag(request: FastifyRequest, reply: FastifyReply, payload: unknown): unknown {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
  const etag = weakEtagOf(payload);
  void reply.header('etag', etag);
  if (!ifNoneMatchHitsTag(request.headers['if-none-match'], etag)) return payload;
  void reply.code(304);
  reply.removeHeader('content-type');
  reply.removeHeader('content-length');
  return '';
}

/**
 * Reads (200, 304) whose answer could be compressed, so depends on `Accept-Encoding`: everything
 * but strongly tagged entities (never compressed, see compression.ts) and answers nobody stores.
 * Sent on the 304 too: it must carry the Vary its 200 would (RFC 9110 §15.4.5).
 */
function negotiatesEncoding(request: FastifyRequest, reply: FastifyReply, cacheControl: string): boolean {
  if (
    !isRead(request) ||
    (reply.statusCode !== 200 && reply.statusCode !== 304) ||
    cacheControl === CACHE_CONTROL.noStore
  )
    return false;
  const etag = reply.getHeader('etag');
  return !(typeof etag === 'string' && etag.startsWith('"'));
}

function addVary(reply: FastifyReply, field: string): void {
  const current = reply.getHeader('vary');
  const values = (Array.isArray(current) ? current.join(',') : String(current ?? ''))
    .split(',')
    .map((value) => value.trim())
    .filter((value) => value.length > 0);
  if (values.some((value) => value === '*' || value.toLowerCase() === field)) return;
  void reply.header('vary', [...values, field].join(', '));
}

function isRead(request: FastifyRequest): boolean {
  return request.method === 'GET' || request.method === 'HEAD';
}

/** Files `@fastify/static` serves for Swagger UI (its wildcard route under /docs). */
function isDocsAsset(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  return route !== undefined && route.startsWith('/docs/') && route.endsWith('*');
}

/** The route template Fastify matched (see `isApiPath`), else the raw path. */
function routePathOf(request: FastifyRequest): string {
  if (request.routeOptions.url !== undefined) return request.routeOptions.url;
  const at = request.url.indexOf('?');
  return at < 0 ? request.url : request.url.slice(0, at);
}
