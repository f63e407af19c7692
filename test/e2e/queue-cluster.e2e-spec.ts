import { Logger } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { queuePrefix } from '../../src/infra/queue/drivers/bullmq.backend.js';
import { BullmqQueueDriver } from '../../src/infra/queue/drivers/bullmq.driver.js';
import { declaredJobsView } from '../../src/infra/queue/drivers/job-ids.js';
import { defineJob, defineQueue, type JobContext } from '../../src/infra/queue/queue.types.js';
import { eventually } from '../support/eventually.js';
import { RedisCluster } from '../support/redis-cluster.js';

// BullMQ on a real 3-master Redis Cluster (issue 19): each queue's keys in one slot (a hash tag
// per queue), the queues spread over the slots. The full QueueDriver contract does not run here
// yet: BullMQ 6.7's cluster blocking-client recovery keeps pause() from settling (see the report).
const PREFIX = 't-bull-cluster';
const FIRST = defineQueue({ name: 'cluster-first', workers: 'short' });
const SECOND = defineQueue({ name: 'cluster-second', workers: 'short' });
const JOBS = [
  defineJob({ name: 'cluster-first-job', queue: FIRST }),
  defineJob({ name: 'cluster-second-job', queue: SECOND }),
];
const SETTINGS = { concurrency: 2, lockDurationMs: 5000, stalledIntervalMs: 2000, maxStalledCount: 1 };

describe('BullMQ on Redis Cluster', () => {
  let cluster: RedisCluster;
  let driver: BullmqQueueDriver;
  let admin: Cluster;
  const runs: JobContext[] = [];

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    const clusterNodes = cluster.seeds.split(',').map((seed) => `redis://${seed}`);
    driver = new BullmqQueueDriver(
      { backend: { kind: 'redis', clusterNodes, prefix: PREFIX }, keepCompletedMs: 60_000, keepFailedMs: 60_000 },
      declaredJobsView(JOBS),
    );
    driver.startWorkers(
      [FIRST, SECOND].map((queue) => ({ name: queue.name, settings: SETTINGS })),
      (job) => {
        runs.push(job);
        return Promise.resolve({ ran: job.name });
      },
    );
    admin = new Cluster([{ host: '127.0.0.1', port: cluster.nodes[0]!.port }]);
  });

  afterAll(async () => {
    admin?.disconnect();
    await driver?.closeWorkers(1000);
    await driver?.close();
    await cluster?.stop();
  });

  it('runs the jobs of two queues and reports them completed with their result', async () => {
    const first = await driver.add(FIRST.name, 'cluster-first-job', { n: 1 });
    const second = await driver.add(SECOND.name, 'cluster-second-job', { n: 2 });
    for (const id of [first, second])
      await eventually(async () => expect((await driver.getJob(id))?.state).toBe('completed'));
    expect(await driver.getJob(first)).toMatchObject({ queue: FIRST.name, result: { ran: 'cluster-first-job' } });
    expect(runs.map((run) => run.data)).toEqual(expect.arrayContaining([{ n: 1 }, { n: 2 }]));
  });

  it("keeps each queue's keys in one slot, and the queues on different slots", async () => {
    const slotsOf = async (queue: string): Promise<Set<number>> => {
      const keys = (
        await Promise.all(
          admin
            .nodes('master')
            .map((node) => node.keys(`${queuePrefix({ kind: 'redis', clusterNodes: [], prefix: PREFIX }, queue)}:*`)),
        )
      ).flat();
      expect(keys.length).toBeGreaterThan(1);
      return new Set(await Promise.all(keys.map(async (key) => Number(await admin.cluster('KEYSLOT', key)))));
    };
    const first = await slotsOf(FIRST.name);
    const second = await slotsOf(SECOND.name);
    expect(first.size).toBe(1);
    expect(second.size).toBe(1);
    expect([...first][0]).not.toBe([...second][0]);
  });

  it('keeps one storage epoch, and checks every master for an evicting policy', async () => {
    const epoch = await driver.storageEpoch();
    expect(await driver.storageEpoch()).toBe(epoch);
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await driver.checkStorage();
      expect(warn).not.toHaveBeenCalled();
      const last = admin.nodes('master').at(-1)!;
      await last.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await driver.checkStorage();
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('maxmemory-policy is "allkeys-lru"'));
    } finally {
      warn.mockRestore();
    }
  });
});
