// Where the test suites find the local PostgreSQL and Redis (see .ci/run, which makes sure they answer).
// The defaults are this machine's services; override them to point the suites elsewhere.
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
