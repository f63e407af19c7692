/**
 * Replaces every occurrence of the given secrets in a finished log line with `[Redacted]`.
 * Path-based redaction (headers) cannot catch a secret that turns up inside a message or an
 * error string, such as an SMTP URL with its password; this last pass over the serialised line
 * can. Secrets shorter than 6 characters are ignored: they would mangle ordinary words.
 *
 * ```ts
 * const scrub = secretScrubber(['s3cret-password']);
 * scrub('{"msg":"login s3cret-password"}'); // '{"msg":"login [Redacted]"}'
 * ```
 */
export function secretScrubber(secrets: ReadonlyArray<string | undefined>): (line: string) => string {
  const needles = [...new Set(secrets.flatMap((secret) => variants(secret)))]
    .filter((secret) => secret.length >= 6)
    // Longest first, so a secret that contains another is replaced whole.
    .sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (line) => line;
  return (line) => {
    let out = line;
    for (const needle of needles) {
      if (out.includes(needle)) out = out.split(needle).join('[Redacted]');
    }
    return out;
  };
}

/** A secret as it may appear in a line: raw, JSON-escaped, and URL-encoded. */
function variants(secret: string | undefined): string[] {
  if (secret === undefined || secret.length === 0) return [];
  return [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)];
}

/** The password of a URL such as `smtp://user:pass@host:587`, decoded, if it has one. */
export function passwordOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const password = new URL(url).password;
    return password.length > 0 ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}
