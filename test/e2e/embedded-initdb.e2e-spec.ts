import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { startService, spawnService, type ServiceProcess } from '../support/service-process.js';

// Runs the built service (dist/main.js: `npm run build` first) on embedded PGlite, as `npm start`
// does on a bare machine: no DATABASE_URL, no REDIS_URL.
let root: string;
let dataDir: string;
const running: ServiceProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pglite-initdb-'));
  dataDir = join(root, 'data');
});

afterAll(async () => {
  await Promise.all(running.map((service) => service.stop('SIGKILL')));
  await rm(root, { recursive: true, force: true });
});

/** Every PG_VERSION under root: initdb writes it early, so one appearing means initdb is under way. */
function versionFiles(): string[] {
  return readdirSync(root)
    .map((name) => join(root, name, 'PG_VERSION'))
    .filter((path) => existsSync(path));
}

describe('creating the embedded database', () => {
  it('leaves no data directory the next start trusts when the process dies during initdb', async () => {
    const first = await spawnService({ DATA_DIR: dataDir });
    running.push(first);
    await eventually(() => expect(versionFiles()).not.toHaveLength(0), 60_000, 5);
    await first.stop('SIGKILL');

    // The half-made cluster stays under its attempt name; DATA_DIR itself never got one.
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(false);

    const second = await startService({ DATA_DIR: dataDir }, 60_000);
    running.push(second);
    const created = await fetch(`${second.url}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'initdb@example.com', name: 'After the crash' }),
    });
    expect(created.status).toBe(201);
    // The dead process's attempt was cleared away; only the published directory is left.
    expect(readdirSync(root)).toEqual(['data']);
    await second.stop();
  });

  it('reuses the data directory on the next start', async () => {
    const before = statSync(join(dataDir, 'PG_VERSION')).ino;
    const third = await startService({ DATA_DIR: dataDir }, 60_000);
    running.push(third);
    const users = (await (await fetch(`${third.url}/v1/users`)).json()) as { items: Array<{ email: string }> };
    expect(users.items.map((user) => user.email)).toContain('initdb@example.com');
    expect(statSync(join(dataDir, 'PG_VERSION')).ino).toBe(before);
    await third.stop();
  });
});
