import { createHash } from 'node:crypto';

/** SHA-256 of a secret: equal-length buffers, so `timingSafeEqual` can compare any two. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** The token of `Authorization: Bearer <token>`, if that is what the header holds. */
export function bearerTokenOf(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  return /^Bearer[ ]+(\S+)\s*$/i.exec(authorization)?.[1];
}
