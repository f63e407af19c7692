import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { PostgresDataSourceOptions as PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions.js';
import type { DatabaseConfig } from '../../config/index.js';
import { preparePgliteDataDir, type DataDirOrigin } from '../pglite-data-dir/index.js';
import { migrations } from './migrations/index.js';

type EntityList = NonNullable<DataSourceOptions['entities']>;

const common = {
  type: 'postgres',
  migrations,
  migrationsTableName: 'migrations',
  migrationsRun: false,
  synchronize: false,
  logging: ['warn', 'migration'],
  // Schema changes come only from migrations: never CREATE EXTENSION at connect. gen_random_uuid()
  // is built into PostgreSQL 13+ and PGlite; 'pgcrypto' makes generated migrations use it.
  installExtensions: false,
  uuidExtension: 'pgcrypto',
} as const satisfies Partial<PostgresConnectionOptions>;

/** Options for a real PostgreSQL server. */
export function postgresOptions(
  config: Extract<DatabaseConfig, { driver: 'postgres' }>,
  entities: EntityList,
): PostgresConnectionOptions {
  return {
    ...common,
    url: config.url,
    entities,
    poolSize: config.poolSize,
    applicationName: 'nest-service',
    extra: {
      connectionTimeoutMillis: config.connectTimeoutMs,
      statement_timeout: config.statementTimeoutMs,
      idle_in_transaction_session_timeout: config.statementTimeoutMs * 2,
      keepAlive: true,
    },
  };
}

/**
 * A DataSource over embedded PGlite, through PGlite's own node-postgres adapter.
 * One connection: PGlite is single-session, and the pool of one serialises transactions
 * correctly (unlike typeorm-pglite, which interleaves them on one session).
 */
export class EmbeddedDataSource extends DataSource {
  constructor(
    options: PostgresConnectionOptions,
    private readonly pglite: PGlite,
    /** Whether this start created the database or found it. */
    readonly dataDirOrigin: DataDirOrigin,
  ) {
    super(options);
  }

  static async open(dataDir: string, entities: EntityList): Promise<EmbeddedDataSource> {
    // Created in a worker, atomically, and usually already under way (main.ts starts it first).
    const origin = await preparePgliteDataDir(dataDir);
    const pglite = await PGlite.create({ dataDir: resolve(dataDir) });
    const pgConfig = createPgConfig(pglite);
    return new EmbeddedDataSource(
      {
        ...common,
        entities,
        poolSize: 1,
        extra: { ...pgConfig, connection: pgConfig.connection, max: 1 },
      },
      pglite,
      origin,
    );
  }

  override async destroy(): Promise<void> {
    try {
      if (this.isInitialized) await super.destroy();
    } finally {
      if (!this.pglite.closed) await this.pglite.close();
    }
  }
}
