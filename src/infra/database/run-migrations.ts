import type { DataSource } from 'typeorm';

/** Arbitrary but fixed: every instance of this service takes the same advisory lock. */
const MIGRATION_LOCK_KEY = 727_274_001;

/**
 * Runs pending migrations, one instance at a time: instances starting together queue on a
 * Postgres advisory lock, and each sees the others' finished migrations once it gets it.
 */
export async function runMigrationsExclusively(dataSource: DataSource, { lock }: { lock: boolean }): Promise<void> {
  if (!lock) {
    await dataSource.runMigrations({ transaction: 'each' });
    return;
  }
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await lockRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await lockRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lockRunner.release();
  }
}
