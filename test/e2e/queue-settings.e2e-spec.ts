import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BullmqQueueDriver } from '../../src/infra/queue/drivers/bullmq.driver.js';
import { bullmqWorkerOptions } from '../../src/infra/queue/drivers/bullmq.workers.js';
import { declaredJobsView } from '../../src/infra/queue/drivers/job-ids.js';
import { IMPORT_PRODUCTS, IMPORTS_QUEUE } from '../../src/modules/products/product-import.job.js';
import { RedisServer } from '../support/redis-server.js';

describe('BullMQ production settings (private redis-server)', () => {
  let redis: RedisServer;
  let driver: BullmqQueueDriver;

  beforeAll(async () => {
    redis = await RedisServer.start();
    driver = new BullmqQueueDriver(
      {
        backend: { kind: 'redis', url: redis.url, prefix: 't-queue-settings' },
        keepCompletedMs: 3_600_000,
        keepFailedMs: 7_200_000,
      },
      declaredJobsView([IMPORT_PRODUCTS]),
    );
  });

  afterAll(async () => {
    await driver?.close();
    await redis?.stop();
  });

  it('warns at start-up when maxmemory-policy would let Redis evict jobs', async () => {
    const admin = new Redis(redis.url);
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await driver.checkStorage();
      expect(warn).not.toHaveBeenCalled();
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await driver.checkStorage();
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('maxmemory-policy is "allkeys-lru"'));
    } finally {
      warn.mockRestore();
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      admin.disconnect();
    }
  });

  it('keeps finished jobs for the configured retention only', () => {
    const queue = driver.queues.get(IMPORTS_QUEUE.name)!;
    expect(queue.defaultJobOptions).toMatchObject({ removeOnComplete: { age: 3600 }, removeOnFail: { age: 7200 } });
  });

  it('gives workers maxRetriesPerRequest: null, and producers fail fast while Redis is down', async () => {
    const options = bullmqWorkerOptions(driver.backend, {
      concurrency: 3,
      lockDurationMs: 5000,
      stalledIntervalMs: 2000,
    });
    expect(options).toMatchObject({
      connection: { maxRetriesPerRequest: null },
      concurrency: 3,
      lockDuration: 5000,
      stalledInterval: 2000,
    });

    expect(await driver.add(IMPORTS_QUEUE.name, IMPORT_PRODUCTS.name, {})).toEqual(expect.any(String));
    await redis.stop();
    try {
      // Rejects (instead of queueing the command until Redis returns, which would hang the caller).
      await expect(driver.add(IMPORTS_QUEUE.name, IMPORT_PRODUCTS.name, {})).rejects.toThrow();
    } finally {
      await redis.resume();
    }
  });
});
