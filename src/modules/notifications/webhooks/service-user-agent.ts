import { existsSync, readFileSync } from 'node:fs';

/**
 * The nearest package.json above this file: the project's, whether this runs from src/, dist/ or a
 * build placed deeper (the benchmark builds into bench/dist/service/).
 */
function nearestPackageJson(from: URL = new URL('.', import.meta.url)): URL {
  for (let dir = from; ; dir = new URL('..', dir)) {
    const candidate = new URL('package.json', dir);
    if (existsSync(candidate)) return candidate;
    if (dir.pathname === '/') throw new Error(`no package.json above ${from.pathname} for the webhook User-Agent`);
  }
}

/**
 * The `User-Agent` webhook deliveries carry, `<name>/<version>` from package.json (e.g.
 * `nest-service-template/0.1.0`), so a receiver's logs say which service and release called.
 * Read synchronously, once, when the delivery handler is built at start-up.
 */
export function readServiceUserAgent(packageJson: URL = nearestPackageJson()): string {
  const { name, version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { name?: unknown; version?: unknown };
  if (typeof name !== 'string' || typeof version !== 'string') {
    throw new Error(`${packageJson.pathname} has no string "name" and "version" for the webhook User-Agent`);
  }
  return `${name}/${version}`;
}
