#!/usr/bin/env node
// `npm start` and `npm run migration:*` build first; this skips the build when dist/ was built by
// this script after every change under src/ (a file's or a folder's mtime: a deleted file changes
// its folder's) and to the build settings. Anything else in doubt, such as no stamp, rebuilds.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.build-stamp');

function newestChange(path) {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestChange(join(path, name)));
  return newest;
}

const inputs = ['src', '.swcrc', 'package.json', 'package-lock.json'].map((name) => join(root, name));
const fresh = existsSync(stamp) && statSync(stamp).mtimeMs > Math.max(...inputs.filter(existsSync).map(newestChange));
if (!fresh) {
  const startedAt = new Date();
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  // Dated when the build started: a change saved during the build still counts as newer.
  writeFileSync(stamp, '');
  utimesSync(stamp, startedAt, startedAt);
}
