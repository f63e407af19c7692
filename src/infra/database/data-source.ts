// The TypeORM CLI's entry point (`npm run migration:*`): compiled to dist/, it finds entities by file name.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataSource } from 'typeorm';
import { databaseConfig } from '../../config/index.js';
import { postgresOptions } from './data-source-options.js';

const config = databaseConfig();
if (config.driver !== 'postgres') {
  throw new Error('The migration CLI needs DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/app)');
}
const srcRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export default new DataSource(postgresOptions(config, [join(srcRoot, '**', '*.entity.js')]));
