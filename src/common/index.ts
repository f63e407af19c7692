// The public surface of src/common, small helpers any layer may use: import from here, not from its files.
export { minutes, seconds } from './duration.js';
export { type RedisScript, redisScript, runScript, whenReady } from './redis-scripts.js';
export { settlesWithin, TimeoutError, withTimeout } from './timeout.js';
export { IsOmittable, IsText, IsTimestamp, ToBoolean, ToInteger } from './validation.js';
