/**
 * The security headers sent on every response: helmet 8's defaults, written out once instead of
 * being rebuilt by a plugin on every request (that showed as ~4 % of a cached GET's CPU profile).
 *
 * The CSP suits /docs: Swagger UI loads its scripts from 'self', its inline <style> is allowed by
 * style-src 'unsafe-inline', its icons are data: images (the browser test checks it). It leaves out
 * upgrade-insecure-requests, so /docs also works over plain HTTP on a private host.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy':
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';" +
    "img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
});
