import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { sparePort } from './redis-server.js';

const run = promisify(execFile);

export interface ClusterNode {
  port: number;
  /** The cluster bus port (`cluster-port`), spare too rather than the default port + 10000. */
  busPort: number;
  process: ChildProcess;
}

export interface RedisClusterOptions {
  /** Masters (each gets `replicas` replicas); 3 by default, the fewest `redis-cli --cluster create` takes. */
  masters?: number;
  replicas?: number;
  /** `cluster-node-timeout`: how long a master may be unreachable before its replica takes over. */
  nodeTimeoutMs?: number;
}

/**
 * A real Redis Cluster for the tests, from the machine's `redis-server`: by default six processes
 * on spare ports (three masters, three replicas), created with `redis-cli --cluster create`,
 * nothing persisted (its files in a temporary directory). Always `await cluster.stop()` in
 * afterAll: it kills the processes it started, by PID, and removes the directory.
 */
export class RedisCluster {
  private constructor(
    readonly nodes: ClusterNode[],
    private readonly dir: string,
  ) {}

  /** `host:port,…` of every node, as `REDIS_CLUSTER_NODES` takes it. */
  get seeds(): string {
    return this.nodes.map((node) => `127.0.0.1:${node.port}`).join(',');
  }

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const masters = options.masters ?? 3;
    const replicas = options.replicas ?? 1;
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
    const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
    const ports = new Set<number>();
    const nodes: ClusterNode[] = [];
    const cluster = new RedisCluster(nodes, dir);
    try {
      for (let i = 0; i < masters * (1 + replicas); i++) {
        const port = await distinctSparePort(ports);
        const busPort = await distinctSparePort(ports);
        const child = spawn(
          'redis-server',
          [
            '--port',
            String(port),
            '--cluster-port',
            String(busPort),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--cluster-node-timeout',
            String(nodeTimeoutMs),
            '--dir',
            dir,
            '--save',
            '',
            '--appendonly',
            'no',
          ],
          { stdio: 'ignore' },
        );
        nodes.push({ port, busPort, process: child });
      }
      for (const node of nodes) await waitFor(() => answersPing(node.port), `redis-server on ${node.port}`);
      await run('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ]);
      await cluster.waitUntilOk();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** Resolves once every running node reports `cluster_state:ok` (all slots served). */
  async waitUntilOk(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        for (const node of this.running()) {
          if (!(await this.clusterInfo(node.port)).includes('cluster_state:ok')) return false;
        }
        return true;
      },
      'cluster_state:ok on every node',
      timeoutMs,
    );
  }

  /** `CLUSTER INFO` of one node. */
  async clusterInfo(port: number): Promise<string> {
    return cli(port, 'CLUSTER', 'INFO');
  }

  /** `CLUSTER NODES` as seen by one node. */
  async clusterNodes(port = this.running()[0]!.port): Promise<string> {
    return cli(port, 'CLUSTER', 'NODES');
  }

  /** The ports of the nodes that are masters now (replicas are promoted on failover). */
  async masterPorts(): Promise<number[]> {
    return (await this.clusterNodes())
      .split('\n')
      .filter((line) => /\bmaster\b/.test(line) && !/\bfail\b/.test(line))
      .map((line) => Number(/127\.0\.0\.1:(\d+)@/.exec(line)?.[1]))
      .filter((port) => this.nodes.some((node) => node.port === port));
  }

  /** Kills one node (SIGKILL: a crash, as a failover test needs) and waits for it to exit. */
  async kill(port: number): Promise<void> {
    const node = this.nodes.find((candidate) => candidate.port === port);
    if (node) await killAndWait(node.process);
  }

  /** Kills every node it started, by PID, and removes their files. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => killAndWait(node.process)));
    await rm(this.dir, { recursive: true, force: true });
  }

  private running(): ClusterNode[] {
    return this.nodes.filter((node) => node.process.exitCode === null && node.process.signalCode === null);
  }
}

async function distinctSparePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await sparePort();
    if (!taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout;
}

async function answersPing(port: number): Promise<boolean> {
  try {
    return (await cli(port, 'PING')).trim() === 'PONG';
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
