/** Methods that change state: API keys guard them under /v1, and the `write` rate-limit tier counts them. */
export const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Whether a path is the versioned API (`/v1` and below); operational routes (/health, /metrics,
 * /docs, /admin) are not. Judge the route template Fastify matched (`request.routeOptions.url`),
 * not the raw URL: `/%761/products` reaches the `/v1/products` route, but its URL does not start
 * with `/v1/`.
 *
 * ```ts
 * isApiPath(request.routeOptions.url ?? request.url);
 * ```
 */
export function isApiPath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/');
}
