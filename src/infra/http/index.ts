// The public surface of infra/http for feature modules: import from here, not from its files.
export * from './etag.js';
export * from './openapi.decorators.js';
export * from './page-query.dto.js';
export * from './parse-uuid.pipe.js';
export * from './problem.js';
export * from './resource-errors.js';
export * from './validation.js';
