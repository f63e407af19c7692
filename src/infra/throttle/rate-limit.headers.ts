import type { TierState } from './rate-limit.store.js';

/*
 * The IETF fields (draft-ietf-httpapi-ratelimit-headers), one list member per tier that applied:
 *
 * ```
 * RateLimit-Policy: "burst";q=20;w=1, "default";q=100;w=60
 * RateLimit: "burst";r=19;t=1, "default";r=42;t=18
 * ```
 *
 * `q` is the limit and `w` the window in seconds; `r` is what is left now and `t` the seconds until
 * `r` next grows (the oldest counted request leaves the sliding window).
 */
/** `RateLimit-Policy`: it depends on the tiers' limits only, so a fixed set of tiers can compute it once. */
export function rateLimitPolicy(tiers: ReadonlyArray<Pick<TierState, 'name' | 'limit' | 'windowMs'>>): string {
  return tiers.map((t) => `${quoted(t.name)};q=${t.limit};w=${Math.ceil(t.windowMs / 1000)}`).join(', ');
}

/** `RateLimit`: what is left in each tier after this request. */
export function rateLimitState(tiers: readonly TierState[]): string {
  return tiers.map((t) => `${quoted(t.name)};r=${t.remaining};t=${Math.ceil(t.resetMs / 1000)}`).join(', ');
}

/** Whole seconds for `Retry-After`, never 0 (a client told 0 would retry at once and be refused again). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** A structured-field string (RFC 9651): quotes and backslashes escaped. */
function quoted(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
