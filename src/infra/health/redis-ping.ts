import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

/**
 * Asks a Redis server for `PONG` over a fresh connection (AUTH and SELECT from the URL first),
 * and gives up after `timeoutMs` or when `signal` aborts. A connection of its own, so a probe
 * sees what a new client would see, never a pooled client's queued commands or reconnect state.
 *
 * ```ts
 * await pingRedis('redis://:secret@127.0.0.1:6379/0', { timeoutMs: 500 }); // throws when down
 * ```
 */
export async function pingRedis(url: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const target = new URL(url);
  const port = Number(target.port || 6379);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const commands: string[][] = [];
  if (target.password) {
    const password = decodeURIComponent(target.password);
    commands.push(target.username ? ['AUTH', decodeURIComponent(target.username), password] : ['AUTH', password]);
  }
  const db = target.pathname.replace(/^\//, '');
  if (/^\d+$/.test(db) && db !== '0') commands.push(['SELECT', db]);
  commands.push(['PING']);

  const socket: Socket =
    target.protocol === 'rediss:' ? connectTls({ host, port, servername: host }) : connectTcp({ host, port });
  try {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      const onAbort = (): void => done(new Error('aborted'));
      const timer = setTimeout(() => done(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let buffer = '';
      let answered = 0;
      socket.setEncoding('utf8');
      socket.once('error', (error) => done(error));
      socket.once('close', () => done(new Error('connection closed')));
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        // Every reply we ask for is one simple line: +OK / +PONG, or -ERR ...
        let newline: number;
        while ((newline = buffer.indexOf('\r\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 2);
          if (line.startsWith('-')) return done(new Error(`redis refused: ${line.slice(1)}`));
          answered += 1;
          if (answered === commands.length)
            return done(line === '+PONG' ? undefined : new Error(`unexpected reply ${line}`));
        }
      });
      socket.write(commands.map(encode).join(''));
    });
  } finally {
    socket.destroy();
  }
}

/** A RESP array of bulk strings. */
function encode(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}
