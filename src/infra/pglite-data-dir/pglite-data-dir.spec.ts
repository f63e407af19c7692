import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preparePgliteDataDir } from './pglite-data-dir.js';

// initdb is seconds of CPU, more on a busy machine.
const INITDB_TIMEOUT_MS = 120_000;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pglite-data-dir-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('preparePgliteDataDir', () => {
  it(
    'creates one database for calls made while it runs, then finds it',
    async () => {
      const dataDir = join(root, 'nested', 'data');
      const [first, second] = await Promise.all([preparePgliteDataDir(dataDir), preparePgliteDataDir(dataDir)]);
      expect([first, second]).toEqual(['created', 'created']);
      expect(await readdir(dataDir)).toContain('PG_VERSION');
      expect(await readdir(join(root, 'nested'))).toEqual(['data']);
      expect(await preparePgliteDataDir(dataDir)).toBe('existing');
    },
    INITDB_TIMEOUT_MS,
  );

  it('refuses a directory that holds files but no database, and leaves it as it was', async () => {
    const dataDir = join(root, 'half-made');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'postgresql.conf'), '');
    await expect(preparePgliteDataDir(dataDir)).rejects.toThrow('holds files but no database');
    expect(await readdir(dataDir)).toEqual(['postgresql.conf']);
  });

  it(
    'fills an empty directory made beforehand',
    async () => {
      const dataDir = join(root, 'empty');
      await mkdir(dataDir);
      expect(await preparePgliteDataDir(dataDir)).toBe('created');
      expect(await readdir(dataDir)).toContain('PG_VERSION');
    },
    INITDB_TIMEOUT_MS,
  );
});
