import {
  type BackendFactory,
  type ConnectionOptions,
  createPostgresBackend,
  createRedisBackend,
  type Telemetry,
} from 'bullmq';
import { ioredisConnection } from '../../redis/index.js';
import { queueTelemetry } from '../../tracing/index.js';

/** Where BullMQ keeps its data: Redis (keys under `prefix`), or PostgreSQL (tables in `schema`). */
export type BullmqBackend =
  { kind: 'redis'; url: string; prefix: string } | { kind: 'postgres'; url: string; schema: string };

/**
 * BullMQ over Redis or PostgreSQL (BullMQ 6's Postgres backend). The backend factory is passed to
 * each Queue and Worker rather than set process-wide, so apps on different backends can share a
 * process (as the tests do).
 */
export function bullmqBackendFactory(backend: BullmqBackend): BackendFactory {
  // The Postgres factory takes pg connection options, a different type from Redis's.
  return backend.kind === 'postgres' ? (createPostgresBackend as unknown as BackendFactory) : createRedisBackend;
}

/** Connection options for producers: they fail fast while Redis is down instead of queueing commands. */
export function producerConnection(backend: BullmqBackend): ConnectionOptions {
  if (backend.kind === 'postgres') return postgresConnection(backend);
  return ioredisConnection({ url: backend.url }, 'fail-fast');
}

/** Connection options for workers: they wait out outages (`maxRetriesPerRequest: null`, as BullMQ requires). */
export function workerConnection(backend: BullmqBackend): ConnectionOptions {
  if (backend.kind === 'postgres') return postgresConnection(backend);
  return ioredisConnection({ url: backend.url }, 'wait');
}

function postgresConnection(backend: Extract<BullmqBackend, { kind: 'postgres' }>): ConnectionOptions {
  // BullMQ's Postgres backend reads a pg pool config; `migrate` creates its tables on first use.
  return { connectionString: backend.url, schema: backend.schema, migrate: true, max: 5 };
}

/** Redis keeps BullMQ's keys under a prefix; PostgreSQL has its schema in the connection instead. */
export function prefixOption(backend: BullmqBackend): { prefix?: string } {
  return backend.kind === 'redis' ? { prefix: backend.prefix } : {};
}

/**
 * BullMQ's own telemetry (bullmq-otel) when tracing is on: producer spans for `add`, consumer spans
 * for each job, the trace context carried in the job so the consumer continues the producer's trace.
 */
export function telemetryOption(): { telemetry?: Telemetry } {
  const telemetry = queueTelemetry() as Telemetry | undefined;
  return telemetry === undefined ? {} : { telemetry };
}
