/** `HTTP_*_TIMEOUT_MS`, as `httpConfig().timeouts` holds them. */
export interface ServerTimeouts {
  headersMs: number;
  requestMs: number;
  keepAliveMs: number;
}

/**
 * The Fastify (and through it Node) options that bound every phase in which the server waits for a
 * client: receiving the headers (`headersTimeout`), receiving the whole request (`requestTimeout`),
 * and an idle keep-alive connection (`keepAliveTimeout`, also announced as `Keep-Alive: timeout=`).
 * Node checks the first two every `connectionsCheckingInterval` (30 s by default, which would let a
 * 10 s limit run to 40 s); once a second keeps them within a second of their value.
 * No inactivity timeout (`connectionTimeout`): it would also cut a response that is slow to compute.
 * A timed-out request is answered 408 problem+json by `answerClientError` (router-errors.ts).
 */
export function serverTimeoutOptions(timeouts: ServerTimeouts) {
  return {
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: 0,
    http: { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: 1000 },
  };
}
