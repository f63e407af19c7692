import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** What closing the listener found, for the shutdown log line. */
export interface GracefulCloseResult {
  /** Connections open when the listener closed. */
  open: number;
  /** Of those, the ones still open at the deadline, and destroyed. */
  destroyed: number;
}

/**
 * Closes the listener at the end of the drain, then lets the open connections end without a reset;
 * destroys only what is still open `deadlineMs` later.
 *
 * Node's `server.close()` destroys every idle keep-alive socket at once (`closeIdleConnections()`),
 * and "idle" includes a socket whose next request is in the kernel's buffer but not parsed yet:
 * the client gets a reset and cannot tell whether that request (a POST, say) was processed. No
 * HTTP/1.1 server can close an idle connection without that race; only the client can. So nothing
 * is closed from here while a client may still write: a socket with a request on it ends after its
 * response (`Connection: close` while draining); an idle one is closed by its client, which was told
 * `Keep-Alive: timeout=<HTTP_KEEP_ALIVE_TIMEOUT_MS>` and closes sooner (undici 2 s sooner), with
 * Node's own keep-alive timer as the backstop, as in normal operation.
 *
 * What remains is TCP's: closing a listening socket resets the connections the kernel completed
 * but the process had not accepted yet. Their requests were never read (nothing was processed);
 * clients connected straight to the service during the drain meet it, clients behind a load
 * balancer that follows readiness do not (docs/faults.md, SIGTERM).
 * Pass the keep-alive timeout as `deadlineMs`: by then every client that honours it has closed.
 */
export async function closeGracefully(server: Server, deadlineMs: number): Promise<GracefulCloseResult> {
  // Sockets are not cut here (see above); the server's own close() would do it.
  server.closeIdleConnections = () => undefined;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const open = await connectionCount(server);
  const ended = await Promise.race([closed.then(() => true), sleep(deadlineMs, false)]);
  if (ended) return { open, destroyed: 0 };
  const destroyed = await connectionCount(server);
  server.closeAllConnections();
  await closed;
  return { open, destroyed };
}

function connectionCount(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
}
