import { describe, expect, it } from 'vitest';
import { type LoggingSources, loggingSettingsOf } from './startup-logger.js';

describe('loggingSettingsOf', () => {
  it('scrubs the password of every Redis Cluster seed, as of REDIS_URL', () => {
    const seeds = ['redis://:seed-pass-1@10.0.0.1:7000', 'rediss://app:seed-pass-2@10.0.0.2:7000'];
    const sources = {
      http: { logLevel: 'info', logFormat: 'json', logFile: undefined },
      auth: { apiKeys: [], adminToken: undefined },
      webhooks: { secret: undefined },
      mail: { smtpUrl: undefined },
      database: { driver: 'pglite' },
      redis: { url: undefined, clusterNodes: seeds, keyPrefix: 'app' },
      tracing: { headers: {} },
    } as unknown as LoggingSources;
    expect(loggingSettingsOf(sources).urlsWithPasswords).toEqual(expect.arrayContaining(seeds));
  });
});
