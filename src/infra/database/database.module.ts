import { Global, Logger, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { databaseConfig, type DatabaseConfig } from '../../config/index.js';
import { EmbeddedDataSource, postgresOptions } from './data-source-options.js';
import { runMigrationsExclusively } from './run-migrations.js';

type ModuleOptions = TypeOrmModuleOptions & { type: 'postgres'; databaseConfig: DatabaseConfig };

/**
 * TypeORM over PostgreSQL (`DATABASE_URL`) or embedded PGlite (`DATA_DIR`) when it is unset.
 * Migrations run at start-up; feature modules register their entities with `TypeOrmModule.forFeature`.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [databaseConfig.KEY],
      // The typed config rides along to dataSourceFactory, which builds the real options once
      // @nestjs/typeorm has added the entities that feature modules registered.
      useFactory: (config: ConfigType<typeof databaseConfig>): ModuleOptions => ({
        type: 'postgres',
        autoLoadEntities: true,
        databaseConfig: config,
      }),
      dataSourceFactory: async (options) => {
        const { databaseConfig: config, entities = [] } = options as ModuleOptions;
        const logger = new Logger('Database');
        const dataSource =
          config.driver === 'postgres'
            ? new DataSource(postgresOptions(config, entities))
            : await EmbeddedDataSource.open(config.dataDir, entities);
        await dataSource.initialize();
        await runMigrationsExclusively(dataSource, { lock: config.driver === 'postgres' });
        logger.log(
          config.driver === 'pglite' && dataSource instanceof EmbeddedDataSource
            ? `Embedded PostgreSQL (PGlite) in ${dataSource.dataDirOrigin === 'created' ? 'a new' : 'its'} data directory ${config.dataDir}`
            : 'Connected to PostgreSQL',
        );
        return dataSource;
      },
    }),
  ],
})
export class DatabaseModule {}
