import { normalizeIp } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';

/**
 * Who a request is counted against: `key:<name>` when it carries a valid API key (the auth guard,
 * which runs first, sets `apiKeyName`), else `ip:<address>`. `request.ip` is Fastify's: the socket
 * address, or the client named by `X-Forwarded-For` only as far as `TRUST_PROXY` trusts the
 * proxies in front. IPv6 addresses count per /64, as one host usually holds a whole /64.
 *
 * ```ts
 * clientKeyOf(request); // 'key:mobile-app' or 'ip:203.0.113.7' or 'ip:2001:db8:1:2::/64'
 * ```
 */
export function clientKeyOf(request: Pick<FastifyRequest, 'ip' | 'apiKeyName'>): string {
  if (request.apiKeyName !== undefined) return `key:${request.apiKeyName}`;
  return ipKeyOf(request);
}

/** The client's address alone (`ip:<address>`, IPv6 per /64), whatever key it sends. */
export function ipKeyOf(request: Pick<FastifyRequest, 'ip'>): string {
  return `ip:${normalizeIp(request.ip)}`;
}
