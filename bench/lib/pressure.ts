import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';

/**
 * Pressure for the bench's stampede-under-pressure row (the fault suite has the same helpers in
 * test/support, outside the bench's build): a TCP forwarder that delays every chunk by
 * `latencyMs` each way (a slow database, seen from the service), and one busy process per core.
 */
export class LatencyProxy {
  private readonly sockets = new Set<Socket>();
  latencyMs = 0;

  private constructor(private readonly server: Server) {}

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy not listening');
    return address.port;
  }

  static async start(target: { host: string; port: number }): Promise<LatencyProxy> {
    const server = createServer();
    const proxy = new LatencyProxy(server);
    server.on('connection', (client) => {
      const upstream = createConnection(target);
      for (const socket of [client, upstream]) {
        proxy.sockets.add(socket);
        socket.once('close', () => proxy.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      proxy.forward(client, upstream);
      proxy.forward(upstream, client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** `url` pointing at this proxy instead. */
  rewrite(url: string): string {
    const out = new URL(url);
    out.hostname = '127.0.0.1';
    out.port = String(this.port);
    return out.toString();
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Same-delay timers fire in order, so delayed chunks keep their order. */
  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk) => {
      if (this.latencyMs === 0) to.write(chunk);
      else setTimeout(() => !to.destroyed && to.write(chunk), this.latencyMs);
    });
    from.once('end', () => setTimeout(() => to.end(), this.latencyMs));
  }
}

/** One busy child process per core, at normal priority, until `stop()`. */
export class CpuBurner {
  private constructor(private readonly children: ChildProcess[]) {}

  static start(processes = availableParallelism()): CpuBurner {
    return new CpuBurner(
      Array.from({ length: processes }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
  }
}
