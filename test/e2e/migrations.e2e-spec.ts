import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { postgresOptions } from '../../src/infra/database/data-source-options.js';
import { migrations } from '../../src/infra/database/migrations/index.js';
import { runMigrationsExclusively } from '../../src/infra/database/run-migrations.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('migrations');
});

afterAll(async () => {
  await db?.drop();
});

describe('migrations', () => {
  it('run once when several instances start at the same time (advisory lock)', async () => {
    const config = {
      driver: 'postgres' as const,
      url: db.url,
      poolSize: 3,
      connectTimeoutMs: 3000,
      statementTimeoutMs: 15_000,
    };
    const instances = Array.from({ length: 4 }, () => new DataSource(postgresOptions(config, [])));
    try {
      await Promise.all(instances.map((ds) => ds.initialize()));
      await Promise.all(instances.map((ds) => runMigrationsExclusively(ds, { lock: true })));
      const applied = await db.query<{ name: string }>('SELECT name FROM migrations ORDER BY id');
      expect(applied.map((m) => m.name)).toEqual(migrations.map((m) => m.name));
      const tables = await db.query<{ tablename: string }>(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
      );
      expect(tables.map((t) => t.tablename)).toEqual(
        expect.arrayContaining(['migrations', 'outbox_events', 'products', 'users']),
      );
    } finally {
      await Promise.all(instances.filter((ds) => ds.isInitialized).map((ds) => ds.destroy()));
    }
  });

  it('revert cleanly, newest first', async () => {
    const config = {
      driver: 'postgres' as const,
      url: db.url,
      poolSize: 2,
      connectTimeoutMs: 3000,
      statementTimeoutMs: 15_000,
    };
    const ds = await new DataSource(postgresOptions(config, [])).initialize();
    try {
      for (let i = 0; i < migrations.length; i++) await ds.undoLastMigration();
      const tables = await db.query<{ tablename: string }>(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`,
      );
      expect(tables).toEqual([]);
      await runMigrationsExclusively(ds, { lock: true });
    } finally {
      await ds.destroy();
    }
  });
});
