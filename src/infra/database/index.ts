// The public surface of infra/database for feature modules: import from here, not from its files.
export * from './cursor.js';
export * from './postgres-errors.js';
export * from './versioned.entity.js';
export * from './versioned.repository.js';
