import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { sparePort } from './redis-server.js';

/**
 * A TCP forwarder to a real service (e.g. the test Postgres) that a test can cut and restore,
 * to see what the application does when that service becomes unreachable: `stop()` closes the
 * port and drops every open connection; `resume()` listens on the same port again.
 * `latencyMs` delays every chunk in both directions (a slow network or a slow database, seen
 * from the service); `setLatency` changes it on the fly.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
    private latencyMs: number,
  ) {}

  static async start(target: { host: string; port: number }, options: { latencyMs?: number } = {}): Promise<TcpProxy> {
    const proxy = new TcpProxy(await sparePort(), target, options.latencyMs ?? 0);
    await proxy.resume();
    return proxy;
  }

  /** `url` with its host and port replaced by this proxy's. */
  rewrite(url: string): string {
    const out = new URL(url);
    out.hostname = '127.0.0.1';
    out.port = String(this.port);
    return out.toString();
  }

  async resume(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = createConnection(this.target);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      this.forward(client, upstream);
      this.forward(upstream, client);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Same-delay timers fire in the order they were set, so delayed chunks keep their order. */
  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk) => {
      if (this.latencyMs === 0) {
        to.write(chunk);
        return;
      }
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, this.latencyMs);
    });
    from.once('end', () => setTimeout(() => to.end(), this.latencyMs));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }
}
