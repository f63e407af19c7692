import { readFileSync } from 'node:fs';

/** package.json, four levels up from here in src/ and in dist/ alike (the build mirrors src/). */
const PACKAGE_JSON = new URL('../../../../package.json', import.meta.url);

/**
 * The `User-Agent` webhook deliveries carry, `<name>/<version>` from package.json (e.g.
 * `nest-service-template/0.1.0`), so a receiver's logs say which service and release called.
 * Read synchronously, once, when the delivery handler is built at start-up.
 */
export function readServiceUserAgent(packageJson: URL = PACKAGE_JSON): string {
  const { name, version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { name?: unknown; version?: unknown };
  if (typeof name !== 'string' || typeof version !== 'string') {
    throw new Error(`${packageJson.pathname} has no string "name" and "version" for the webhook User-Agent`);
  }
  return `${name}/${version}`;
}
