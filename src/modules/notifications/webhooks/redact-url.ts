/** Query parameters whose value is treated as a secret wherever a URL is logged or shown. */
const SECRET_PARAMETER = /token|key|secret|signature|sig|password|passwd|pwd|auth|credential|code/i;

/**
 * A URL fit for a log line or an API answer: userinfo and the values of secret-looking query
 * parameters (`token`, `api_key`, `access_token`, `sig`, …) replaced by `REDACTED`. The one
 * function every log line and the dead-letter listing use. Not a URL: a fixed placeholder.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '[invalid URL]';
  }
  if (parsed.username !== '') parsed.username = 'REDACTED';
  if (parsed.password !== '') parsed.password = 'REDACTED';
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAMETER.test(name)) parsed.searchParams.set(name, 'REDACTED');
  }
  return parsed.toString();
}
