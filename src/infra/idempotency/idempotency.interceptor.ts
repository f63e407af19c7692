import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { ProblemException } from '../http/index.js';
import { MetricsService } from '../metrics/index.js';
import { UnitOfWork } from '../outbox/index.js';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, parseIdempotencyKey } from './idempotency-key.js';
import { IdempotencyStore, type StoredOutcome, type StoredResponse } from './idempotency.store.js';
import { requestFingerprint } from './request-fingerprint.js';

/** The scope of requests without an API key. API key names match [A-Za-z0-9._-], so no name is `*`. */
export const SHARED_SCOPE = '*';
/** The answer headers a replay repeats. */
const STORED_HEADERS = ['location', 'etag', 'content-type'] as const;
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Thrown inside the transaction when a twin request completed the key after our first look. */
class CompletedMeanwhile extends Error {}

/**
 * `Idempotency-Key` on a write (docs/idempotency.md). Without the header the request passes
 * through untouched. With it: a stored outcome for the same key is replayed (or 422 when the
 * request differs); otherwise the handler runs inside `UnitOfWork.holding`, which reserves the
 * key as the first statement of the write's transaction and stores the rendered answer as its
 * last one, so the answer commits with the write and its events or not at all.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly unitOfWork: UnitOfWork,
    private readonly metrics: MetricsService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const header = request.headers[IDEMPOTENCY_KEY_HEADER];
    if (header === undefined) return next.handle();
    return from(this.handle(request, http.getResponse<FastifyReply>(), header, next));
  }

  private async handle(
    request: FastifyRequest,
    reply: FastifyReply,
    header: string | string[],
    next: CallHandler,
  ): Promise<unknown> {
    const parsed = parseIdempotencyKey(header);
    if (!parsed.ok) {
      throw new ProblemException(400, `Invalid Idempotency-Key: ${parsed.reason}`, {
        errors: [{ field: 'Idempotency-Key', message: parsed.reason }],
      });
    }
    const key = parsed.key;
    const scope = request.apiKeyName ?? SHARED_SCOPE;
    const fingerprint = requestFingerprint({
      method: request.method,
      route: request.routeOptions.url ?? request.url,
      params: (request.params ?? {}) as Record<string, string>,
      body: request.rawBody ?? Buffer.alloc(0),
    });

    const stored = await this.store.find(scope, key);
    if (stored) return this.replay(stored, fingerprint, key, reply);

    try {
      const response = await this.unitOfWork.holding<StoredResponse>(
        {
          begin: async (manager) => {
            const reservation = await this.store.reserve(manager, scope, key, fingerprint);
            if (reservation === 'in-flight') throw this.inFlight(key);
            if (reservation === 'completed') throw new CompletedMeanwhile();
          },
          complete: (manager, response) => this.store.complete(manager, scope, key, response),
        },
        async () => render(await lastValueFrom(next.handle(), { defaultValue: undefined }), reply),
      );
      this.metrics.idempotencyRequests.inc({ outcome: 'new' });
      return bodyOf(response);
    } catch (error) {
      if (!(error instanceof CompletedMeanwhile)) throw error;
      const completed = await this.store.find(scope, key);
      // Completed and already expired, or pruned, in between: as good as in flight, for one more second.
      if (!completed) throw this.inFlight(key);
      return this.replay(completed, fingerprint, key, reply);
    }
  }

  private replay(stored: StoredOutcome, fingerprint: string, key: string, reply: FastifyReply): unknown {
    if (stored.fingerprint !== fingerprint) {
      this.metrics.idempotencyRequests.inc({ outcome: 'mismatch' });
      throw new ProblemException(
        422,
        `The Idempotency-Key ${JSON.stringify(key)} was already used for a different request (method, path or body); use a new key for a new request`,
      );
    }
    this.metrics.idempotencyRequests.inc({ outcome: 'replayed' });
    void reply.status(stored.status);
    for (const [name, value] of Object.entries(stored.headers)) void reply.header(name, value);
    void reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
    return bodyOf(stored);
  }

  private inFlight(key: string): ProblemException {
    this.metrics.idempotencyRequests.inc({ outcome: 'conflict' });
    return new ProblemException(
      409,
      `A request with the Idempotency-Key ${JSON.stringify(key)} is still being processed; retry shortly`,
      { headers: { 'retry-after': '1' } },
    );
  }
}

/**
 * The answer as it will be sent: the handler's value serialised here (as Fastify would, with
 * JSON.stringify), so the first answer and every replay are the same bytes by construction.
 */
function render(value: unknown, reply: FastifyReply): StoredResponse {
  const body =
    value === undefined || value === null
      ? Buffer.alloc(0)
      : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
  if (body.length > 0 && reply.getHeader('content-type') === undefined)
    void reply.header('content-type', JSON_CONTENT_TYPE);
  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = reply.getHeader(name);
    if (value !== undefined) headers[name] = String(value);
  }
  return { status: reply.statusCode, headers, body };
}

/** What the route hands Nest to send: the stored bytes as a string (Fastify sends strings as they are), or nothing. */
function bodyOf(response: StoredResponse): string | undefined {
  return response.body.length > 0 ? response.body.toString('utf8') : undefined;
}
