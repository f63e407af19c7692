import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sparePort } from './redis-server.js';

const run = promisify(execFile);

async function binDir(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/** Runs a PostgreSQL binary as the `postgres` user when we are root (initdb refuses to run as root). */
async function asPostgres(command: string, args: string[]): Promise<void> {
  if (process.getuid?.() === 0) await run('runuser', ['-u', 'postgres', '--', command, ...args]);
  else await run(command, args);
}

/**
 * A private PostgreSQL cluster (initdb + pg_ctl in a temp dir, on a spare port) that a fault test
 * can stop and start again. Trust auth for `postgres`; always `await server.destroy()` in afterAll.
 */
export class PostgresServer {
  private constructor(
    readonly port: number,
    private readonly dataDir: string,
    private readonly bin: string,
  ) {}

  /** A connection URL for `database` on this server. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  static async start(): Promise<PostgresServer> {
    const bin = await binDir();
    const root = await mkdtemp(join(tmpdir(), 'pg-fault-'));
    await chmod(root, 0o755);
    const dataDir = join(root, 'data');
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      await chown(root, Number(stdout.trim()), Number(gid.trim()));
    }
    await asPostgres(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    const server = new PostgresServer(await sparePort(), dataDir, bin);
    await server.resume();
    return server;
  }

  /** Starts (again) on the same port with the same data. */
  async resume(): Promise<void> {
    await asPostgres(join(this.bin, 'pg_ctl'), [
      '-D',
      this.dataDir,
      '-w',
      '-t',
      '30',
      '-o',
      `-p ${this.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      '-l',
      join(this.dataDir, '..', 'server.log'),
      'start',
    ]);
  }

  /** Stops the server: `immediate` drops every connection at once, as a crash or failover would. */
  async stop(mode: 'fast' | 'immediate' = 'immediate'): Promise<void> {
    await asPostgres(join(this.bin, 'pg_ctl'), ['-D', this.dataDir, '-w', '-m', mode, 'stop']).catch(() => undefined);
  }

  async destroy(): Promise<void> {
    await this.stop('immediate');
    await rm(join(this.dataDir, '..'), { recursive: true, force: true });
  }
}
