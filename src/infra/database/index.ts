// The public surface of infra/database: import from here, not from its files.
export { type Cursor, decodeCursor, encodeCursor, InvalidCursorError, type Page } from './cursor.js';
export { DatabaseModule } from './database.module.js';
export {
  isConstraintViolation,
  isDatabaseUnavailable,
  isForeignKeyViolation,
  isUniqueViolation,
} from './postgres-errors.js';
export { VersionedEntity } from './versioned.entity.js';
export { type PageRequest, VersionedRepository, type WriteOutcome } from './versioned.repository.js';
