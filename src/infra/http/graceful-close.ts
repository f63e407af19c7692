import type { Server } from 'node:http';
import { setImmediate as nextCheckPhase, setTimeout as sleep } from 'node:timers/promises';
import type { ShutdownState } from './shutdown-state.js';

export interface GracefulCloseOptions {
  /** Holds answers back while the listener closes (see below). */
  shutdown: ShutdownState;
  /** The listener closes once no connection has arrived for this long… */
  quietMs: number;
  /** …or after this long anyway (clients that open connections on their own keep arriving). */
  maxHoldMs: number;
  /** Connections still open this long after the listener closed are destroyed. */
  deadlineMs: number;
}

/** What closing the listener found, for the shutdown log line. */
export interface GracefulCloseResult {
  /** How long answers were held before the listener closed. */
  heldMs: number;
  /** Connections accepted while answers were held (clients that had reconnected just before). */
  acceptedWhileHeld: number;
  /** False when `maxHoldMs` ran out with connections still arriving: some may have been reset. */
  quiet: boolean;
  /** Connections open when the listener closed. */
  open: number;
  /** Of those, the ones still open at the deadline, and destroyed. */
  destroyed: number;
}

/**
 * Closes the listener at the end of the drain without resetting a connection, then lets the open
 * connections end; destroys only what is still open `deadlineMs` later.
 *
 * The listen queue. Linux completes handshakes on its own and resets every connection still in the
 * listen queue when the listening socket closes; its client already counts it as connected (and may
 * have sent its request). During the drain every answer carries `Connection: close`, so a busy
 * client reconnects right after each one: with 50 of them, ~40 sit in that queue at any instant.
 * No socket option stops the kernel from completing handshakes short of closing (filters and
 * `tcp_migrate_req` need privileges). So the clients are made to stop instead: finished answers are
 * held back (ShutdownState, the `onSend` hook), which leaves no client a reason to reconnect; the
 * listener keeps accepting, and once an accept pass has found no new connection for `quietMs` the
 * queue is empty and nothing is on its way into it: the listener closes in that same turn of the
 * event loop, then the answers go out, and the clients' next connections are refused.
 *
 * Open connections. Node's `server.close()` destroys every idle keep-alive socket at once
 * (`closeIdleConnections()`), and "idle" includes a socket whose next request is in the kernel's
 * buffer but not parsed yet: the client gets a reset and cannot tell whether that request (a POST,
 * say) was processed. So nothing is closed from here while a client may still write: a socket with a
 * request on it ends after its response (`Connection: close`); an idle one is closed by its client,
 * which was told `Keep-Alive: timeout=<HTTP_KEEP_ALIVE_TIMEOUT_MS>` and closes sooner (undici 2 s
 * sooner), with Node's own keep-alive timer as the backstop. Pass that timeout as `deadlineMs`.
 */
export async function closeGracefully(server: Server, options: GracefulCloseOptions): Promise<GracefulCloseResult> {
  // Sockets are not cut here (see above); the server's own close() would do it.
  server.closeIdleConnections = () => undefined;
  const heldSince = Date.now();
  options.shutdown.holdAnswers();
  let closed: Promise<void>;
  let arrivals: { accepted: number; quiet: boolean };
  try {
    arrivals = await untilNoConnectionArrives(server, options.quietMs, options.maxHoldMs);
    // Synchronously after that accept pass: nothing reaches the listen queue in between.
    closed = new Promise<void>((resolve) => server.close(() => resolve()));
  } finally {
    options.shutdown.releaseAnswers();
  }
  const heldMs = Date.now() - heldSince;
  const figures = { heldMs, acceptedWhileHeld: arrivals.accepted, quiet: arrivals.quiet };
  const open = await connectionCount(server);
  const ended = await Promise.race([closed.then(() => true), sleep(options.deadlineMs, false)]);
  if (ended) return { ...figures, open, destroyed: 0 };
  const destroyed = await connectionCount(server);
  server.closeAllConnections();
  await closed;
  return { ...figures, open, destroyed };
}

/**
 * Resolves in the check phase of the event loop, right after a poll phase (where Node accepts what
 * the listen queue holds) that accepted nothing, once nothing has been accepted for `quietMs`.
 */
async function untilNoConnectionArrives(
  server: Server,
  quietMs: number,
  maxMs: number,
): Promise<{ accepted: number; quiet: boolean }> {
  const giveUpAt = Date.now() + maxMs;
  let accepted = 0;
  let lastArrival = Date.now();
  const onConnection = (): void => {
    accepted++;
    lastArrival = Date.now();
  };
  server.on('connection', onConnection);
  try {
    for (;;) {
      const now = Date.now();
      if (now >= giveUpAt) return { accepted, quiet: false };
      const quietFor = now - lastArrival;
      if (quietFor < quietMs) {
        await sleep(Math.min(quietMs - quietFor, giveUpAt - now));
        continue;
      }
      const before = accepted;
      await nextCheckPhase();
      if (accepted === before) return { accepted, quiet: true };
    }
  } finally {
    server.off('connection', onConnection);
  }
}

function connectionCount(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
}
