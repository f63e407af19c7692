import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

const HARNESS = 'bench-harness';

/** The run's own database, created empty and dropped (with its connections) at the end. */
export interface BenchDatabase {
  name: string;
  url: string;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * Index + sequential scans recorded for a table. Postgres publishes a backend's counters when it
   * exits (or up to 10 s after it goes idle), so read this after the instances have stopped.
   */
  tableScans(table: string): Promise<number>;
  /** Waits until no connection other than the harness's own is open on this database. */
  waitForOtherConnectionsToClose(timeoutMs?: number): Promise<number>;
  /** Runs SQL on a short-lived connection, so its statistics are published when it closes. */
  runOnce<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `bench_${randomBytes(4).toString('hex')}`;
  await admin(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2, application_name: HARNESS });
  pool.on('error', () => undefined); // a client still closing when the database is dropped (FATAL 57P01)
  const query: BenchDatabase['query'] = async <T extends pg.QueryResultRow>(sql: string, params?: unknown[]) =>
    (await pool.query<T>(sql, params)).rows;
  return {
    name,
    url: url.toString(),
    query,
    tableScans: async (table) => {
      await query('SELECT pg_stat_clear_snapshot()');
      const rows = await query<{ scans: string | null }>(
        `SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) AS scans FROM pg_stat_user_tables WHERE relname = $1`,
        [table],
      );
      return Number(rows[0]?.scans ?? 0);
    },
    waitForOtherConnectionsToClose: async (timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      let open = 0;
      do {
        const rows = await query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> $2`,
          [name, HARNESS],
        );
        open = Number(rows[0]?.n ?? 0);
        if (open === 0) return 0;
        await sleep(100);
      } while (Date.now() < deadline);
      return open;
    },
    runOnce: async <T extends pg.QueryResultRow>(sql: string, params?: unknown[]) => {
      const client = new pg.Client({ connectionString: url.toString(), application_name: `${HARNESS}-once` });
      await client.connect();
      try {
        return (await client.query<T>(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    drop: async () => {
      await pool.end();
      await admin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

async function admin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
