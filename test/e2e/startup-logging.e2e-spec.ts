import { describe, expect, it } from 'vitest';
import { spawnService } from '../support/service-process.js';

// Runs the built service (dist/main.js: `npx nest build` first).
describe('a start-up that fails', () => {
  it('logs through the scrubbing logger: JSON lines only, and no password from a URL', async () => {
    const databasePassword = 'S3cret-db-Passw0rd-XYZ';
    const redisPassword = 'R3dis-Passw0rd-QQ-1234';
    const apiSecret = 'api-secret-0123456789abcdef';
    const service = await spawnService({
      // Nothing listens on ports 1 and 2: the database connection fails after its retries.
      DATABASE_URL: `postgres://app:${databasePassword}@127.0.0.1:1/app`,
      REDIS_URL: `redis://:${redisPassword}@127.0.0.1:2`,
      API_KEYS: `ci:${apiSecret}`,
      LOG_LEVEL: 'trace',
      LOG_FORMAT: 'json',
    });
    const { code } = await service.exited;
    expect(code).toBe(1);
    const output = service.output();
    for (const secret of [databasePassword, redisPassword, apiSecret, encodeURIComponent(databasePassword)])
      expect(output).not.toContain(secret);
    // Every line, Nest's buffered start-up lines and the failure included, went through pino (and its scrubber).
    const lines = output.split('\n').filter((line) => line.length > 0);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    const failure = lines
      .map((line) => JSON.parse(line) as { context?: string; msg?: string })
      .find((entry) => entry.context === 'Bootstrap');
    expect(failure?.msg).toBe('start-up failed');
  });
});
