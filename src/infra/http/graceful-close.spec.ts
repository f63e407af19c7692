import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeGracefully } from './graceful-close.js';
import { ShutdownState } from './shutdown-state.js';

/** A server that answers the way the app's `onSend` hook does: an answer waits while answers are held. */
function serverWithHeldAnswers(shutdown: ShutdownState, answered: string[]): Server {
  const server = createServer((request, response) => {
    const answer = (): void => {
      answered.push(`${request.url} listening=${server.listening}`);
      response.setHeader('connection', 'close');
      response.end('ok');
    };
    const held = shutdown.answersHeld;
    if (held) void held.then(answer);
    else answer();
  });
  return server;
}

/** A raw connection with one request on it: `connect()` is issued before the event loop polls again. */
function sendRequest(port: number, path: string): { socket: Socket; reply: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
  const reply = new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  return { socket, reply };
}

const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

describe('closeGracefully', () => {
  it('accepts what arrives while answers are held, closes the listener once quiet, then answers', async () => {
    const shutdown = new ShutdownState();
    const answered: string[] = [];
    const server = serverWithHeldAnswers(shutdown, answered);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;

    const closing = closeGracefully(server, { shutdown, quietMs: 100, maxHoldMs: 60_000, deadlineMs: 5000 });
    expect(shutdown.answersHeld).toBeInstanceOf(Promise);
    // A client that reconnects just as the listener is about to close: accepted, not reset.
    const late = sendRequest(port, '/late');
    sockets.push(late.socket);

    const reply = await late.reply;
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK/);
    // Its answer went out only after the listener had closed, so its client could not reconnect into it.
    expect(answered).toEqual(['/late listening=false']);
    const result = await closing;
    expect(result).toMatchObject({ quiet: true, acceptedWhileHeld: 1, destroyed: 0 });
    expect(shutdown.answersHeld).toBeUndefined();
    // Afterwards a new connection is refused.
    const refused = sendRequest(port, '/after');
    sockets.push(refused.socket);
    await expect(refused.reply).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('closes after maxHoldMs when connections keep arriving, says so, and answers them all', async () => {
    const shutdown = new ShutdownState();
    const answered: string[] = [];
    const server = serverWithHeldAnswers(shutdown, answered);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    // Every accepted connection brings the next one: never a quiet moment while the listener is open.
    const replies: Array<Promise<string>> = [];
    server.on('connection', () => {
      if (!server.listening) return;
      const next = sendRequest(port, `/n${replies.length}`);
      sockets.push(next.socket);
      replies.push(next.reply.catch((error: NodeJS.ErrnoException) => error.code ?? 'error'));
    });

    const closing = closeGracefully(server, { shutdown, quietMs: 200, maxHoldMs: 300, deadlineMs: 5000 });
    const first = sendRequest(port, '/first');
    sockets.push(first.socket);
    const result = await closing;

    expect(result.quiet).toBe(false);
    expect(result.acceptedWhileHeld).toBeGreaterThan(1);
    expect(await first.reply).toMatch(/^HTTP\/1\.1 200 OK/);
    // Every connection the server accepted was answered; only the last ones, in the listen queue or
    // after the close, were not (what `quiet: false` warns about).
    expect(answered.length).toBe(result.acceptedWhileHeld);
    expect(answered.every((line) => line.endsWith('listening=false'))).toBe(true);
  });
});
