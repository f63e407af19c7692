// The public surface of infra/logging: import from here, not from its files.
export { AppLogger } from './app-logger.js';
export { LoggingModule, ROOT_LOGGER } from './logging.module.js';
export { installRequestContext } from './request-context.js';
export { installRequestLogging } from './request-logging.hook.js';
export { startupLogger } from './startup-logger.js';
