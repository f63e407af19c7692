import { afterEach, describe, expect, it } from 'vitest';
import {
  assertValidEnvironment,
  cacheConfig,
  countersConfig,
  databaseConfig,
  httpConfig,
  InvalidEnvironmentError,
  parseRedisUrl,
  queueConfig,
  redisConfig,
  webhooksConfig,
} from './index.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

function problemsWith(env: Record<string, string>): string[] {
  Object.assign(process.env, env);
  try {
    assertValidEnvironment();
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEnvironmentError);
    return (error as InvalidEnvironmentError).problems.map((p) => p.variable);
  }
}

describe('environment validation', () => {
  it('names every offending variable at once', () => {
    Object.assign(process.env, { PORT: 'notaport', DATABASE_URL: 'nonsense' });
    let message = '';
    try {
      assertValidEnvironment();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('PORT: expected an integer from 1 to 65535');
    expect(message).toContain('DATABASE_URL: expected a postgres:// or postgresql:// URL');
    // Values are never echoed: some variables carry secrets.
    expect(message).not.toContain('nonsense');
  });

  it.each([
    [{ PORT: '0' }, ['PORT']],
    [{ PORT: '70000' }, ['PORT']],
    [{ REDIS_URL: 'http://x' }, ['REDIS_URL']],
    [{ REDIS_CLUSTER_NODES: 'host-without-port' }, ['REDIS_CLUSTER_NODES']],
    [{ REDIS_CLUSTER_NODES: '127.0.0.1:7000,http://127.0.0.1:7001' }, ['REDIS_CLUSTER_NODES']],
    [{ REDIS_CLUSTER_NODES: 'redis://127.0.0.1:7000/2' }, ['REDIS_CLUSTER_NODES']],
    [{ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000' }, ['REDIS_CLUSTER_NODES']],
    [{ REDIS_CLUSTER_NODES: '127.0.0.1:7000', CACHE_STORE: 'redis' }, ['CACHE_STORE']],
    [{ CACHE_STORE: 'memcached' }, ['CACHE_STORE']],
    [{ CACHE_STORE: 'redis' }, ['CACHE_STORE']],
    [{ TRUST_PROXY: 'everyone' }, ['TRUST_PROXY']],
    [{ TRUST_PROXY: '10.0.0.0/33' }, ['TRUST_PROXY']],
    [{ WEBHOOK_URLS: 'ftp://x' }, ['WEBHOOK_URLS', 'WEBHOOK_SECRET']],
    [{ WEBHOOK_URLS: 'http://127.0.0.1:9/hook' }, ['WEBHOOK_SECRET']],
    [{ WEBHOOK_SECRET: 'plain' }, ['WEBHOOK_SECRET']],
    [{ API_KEYS: 'nocolon' }, ['API_KEYS']],
    [{ API_KEYS: 'a:short' }, ['API_KEYS']],
    [{ API_KEYS: 'a:0123456789abcdef,a:fedcba9876543210' }, ['API_KEYS']],
    [{ NODE_ENV: 'production' }, ['API_KEYS']],
    [{ NODE_ENV: 'staging' }, ['NODE_ENV']],
    [{ SMTP_URL: 'mailto:x' }, ['SMTP_URL']],
    [{ WELCOME_EMAIL_LIMIT: '-1' }, ['WELCOME_EMAIL_LIMIT']],
    [{ WELCOME_EMAIL_TTL_SECONDS: '0' }, ['WELCOME_EMAIL_TTL_SECONDS']],
    [{ SHUTDOWN_DRAIN_MS: '-1' }, ['SHUTDOWN_DRAIN_MS']],
    [{ SHUTDOWN_QUIET_MS: '0' }, ['SHUTDOWN_QUIET_MS']],
    [{ SHUTDOWN_QUIET_MS: '500', SHUTDOWN_QUIET_MAX_MS: '400' }, ['SHUTDOWN_QUIET_MS']],
    [{ THROTTLE_FAIL_MODE: 'open' }, ['THROTTLE_FAIL_MODE']],
    [{ QUEUE_DRIVER: 'kafka' }, ['QUEUE_DRIVER']],
  ])('rejects %o', (env, variables) => {
    expect(problemsWith(env).sort()).toEqual([...variables].sort());
  });

  it('accepts an empty environment and applies the documented defaults', () => {
    for (const key of Object.keys(process.env)) delete process.env[key];
    expect(problemsWith({})).toEqual([]);
    expect(httpConfig()).toMatchObject({
      port: 3000,
      shutdownDrainMs: 5000,
      shutdownQuietMs: 250,
      shutdownQuietMaxMs: 5000,
      trustProxy: undefined,
      environment: 'development',
    });
    expect(databaseConfig()).toEqual({ driver: 'pglite', dataDir: './.data' });
    expect(cacheConfig()).toMatchObject({ store: 'memory', ttlMs: 60_000, negativeTtlMs: 5000 });
    expect(webhooksConfig().urls).toEqual([]);
  });

  it('reads REDIS_CLUSTER_NODES as seed URLs, host:port or redis[s]:// with credentials', () => {
    expect(
      problemsWith({ REDIS_URL: '', REDIS_CLUSTER_NODES: '127.0.0.1:7000, rediss://app:s%40cret@[::1]:7001' }),
    ).toEqual([]);
    expect(redisConfig()).toMatchObject({
      url: undefined,
      clusterNodes: ['redis://127.0.0.1:7000', 'rediss://app:s%40cret@[::1]:7001'],
    });
    expect(parseRedisUrl(redisConfig().clusterNodes![1]!)).toEqual({
      host: '::1',
      port: 7001,
      username: 'app',
      password: 's@cret',
      tls: true,
    });
    // A cluster alone runs the queue on BullMQ and the counters in Redis, as REDIS_URL does.
    expect(queueConfig().driver).toBe('bullmq');
    expect(countersConfig().store).toBe('redis');
  });

  it('treats an empty variable as unset and parses lists and hop counts', () => {
    expect(
      problemsWith({
        REDIS_URL: '',
        TRUST_PROXY: '2',
        WEBHOOK_URLS: 'http://a.test/x, https://b.test/y',
        WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      }),
    ).toEqual([]);
    expect(httpConfig().trustProxy).toBe(2);
    expect(webhooksConfig().urls).toEqual(['http://a.test/x', 'https://b.test/y']);
    expect(cacheConfig().store).toBe('memory');
    process.env.TRUST_PROXY = '10.0.0.0/8, ::1';
    expect(httpConfig().trustProxy).toEqual(['10.0.0.0/8', '::1']);
  });
});
