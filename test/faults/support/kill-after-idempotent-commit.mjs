// Preloaded into a built instance (`NODE_OPTIONS=--import <this file>`) by
// idempotency-crash.fault-spec.ts: SIGKILLs the process the moment PostgreSQL acknowledges the
// COMMIT of a transaction that inserted a user, i.e. after the write's commit and before the
// after-commit work and the HTTP answer, wherever the service stores its Idempotency-Key outcome.
// Test-only: nothing in src/ knows of it.
import pg from 'pg';

const query = pg.Client.prototype.query;
const insertedUser = Symbol('inserted a user');

pg.Client.prototype.query = function (config, values, callback) {
  const text = typeof config === 'string' ? config : config?.text;
  if (typeof text === 'string') {
    if (/^\s*INSERT INTO "users"/.test(text)) this[insertedUser] = true;
    if (text === 'ROLLBACK') this[insertedUser] = false;
    if (text === 'COMMIT' && this[insertedUser]) {
      return query.call(this, config, values, callback).then((result) => {
        process.kill(process.pid, 'SIGKILL');
        return result;
      });
    }
  }
  return query.call(this, config, values, callback);
};
