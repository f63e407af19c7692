import { createCluster } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCluster } from '../support/redis-cluster.js';

// The test support itself: the cluster the cluster suites run on is a real one.
describe('RedisCluster (test support)', () => {
  let cluster: RedisCluster;

  beforeAll(async () => {
    cluster = await RedisCluster.start();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('starts three masters and three replicas serving every slot', async () => {
    const info = await cluster.clusterInfo(cluster.nodes[0]!.port);
    expect(info).toContain('cluster_state:ok');
    expect(info).toContain('cluster_slots_assigned:16384');
    expect(info).toContain('cluster_size:3');
    const lines = (await cluster.clusterNodes()).trim().split('\n');
    expect(lines.filter((line) => /\bmaster\b/.test(line))).toHaveLength(3);
    expect(lines.filter((line) => /\bslave\b/.test(line))).toHaveLength(3);
  });

  it('serves keys of different slots to a cluster client, which follows MOVED', async () => {
    const client = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${cluster.nodes[0]!.port}` }] });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const keys = Array.from({ length: 20 }, (_, i) => `support-key-${i}`);
      for (const key of keys) await client.set(key, key.toUpperCase());
      for (const key of keys) expect(await client.get(key)).toBe(key.toUpperCase());
      // Spread over more than one master: the keys really are sharded.
      const slots = new Set(
        await Promise.all(keys.map((key) => client.sendCommand(key, true, ['CLUSTER', 'KEYSLOT', key]))),
      );
      expect(slots.size).toBeGreaterThan(1);
      expect(await cluster.masterPorts()).toHaveLength(3);
    } finally {
      await client.close();
    }
  });

  it('stops every process it started', async () => {
    const spare = await RedisCluster.start({ masters: 3, replicas: 0 });
    const pids = spare.nodes.map((node) => node.process.pid!);
    await spare.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
