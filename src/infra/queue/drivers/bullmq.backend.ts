import {
  type BackendFactory,
  type ConnectionOptions,
  createPostgresBackend,
  createRedisBackend,
  type Telemetry,
} from 'bullmq';
import { type Cluster, Redis } from 'ioredis';
import { ioredisCluster, ioredisConnection, isClusterTarget, type RedisTarget } from '../../redis/index.js';
import { queueTelemetry } from '../../tracing/index.js';

/**
 * Where BullMQ keeps its data: Redis, one server (`url`) or a cluster (`clusterNodes`), keys under
 * `prefix`; or PostgreSQL (tables in `schema`).
 */
export type BullmqBackend =
  ({ kind: 'redis'; prefix: string } & RedisTarget) | { kind: 'postgres'; url: string; schema: string };

type RedisBackend = Extract<BullmqBackend, { kind: 'redis' }>;

/** True for a Redis Cluster backend, whose ioredis clients BullMQ never closes (their owner does). */
export function isClusterBackend(backend: BullmqBackend): backend is RedisBackend & { clusterNodes: string[] } {
  return backend.kind === 'redis' && isClusterTarget(backend);
}

/**
 * The BullMQ prefix of one queue. On a cluster every key of a queue must share a slot (BullMQ's
 * scripts touch several), so the prefix is one hash tag per queue, `{<prefix>:<queue>}`: each
 * queue lives on one slot and the queues spread over the cluster. One server keeps `<prefix>`.
 */
export function queuePrefix(backend: RedisBackend, queue: string): string {
  return isClusterTarget(backend) ? `{${backend.prefix}:${queue}}` : backend.prefix;
}

/** A side client (storage epoch, eviction check): fail-fast, not connected yet. */
export function sideClient(backend: RedisBackend): Redis | Cluster {
  if (isClusterTarget(backend)) return ioredisCluster(backend, 'fail-fast');
  return new Redis({ ...ioredisConnection(backend, 'fail-fast'), lazyConnect: true });
}

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
  // A cluster is one client shared by every queue (the driver closes it).
  if (isClusterTarget(backend)) return ioredisCluster(backend, 'fail-fast');
  return ioredisConnection(backend, 'fail-fast');
}

/** Connection options for workers: they wait out outages (`maxRetriesPerRequest: null`, as BullMQ requires). */
export function workerConnection(backend: BullmqBackend): ConnectionOptions {
  if (backend.kind === 'postgres') return postgresConnection(backend);
  // A cluster: a client per worker, which its owner closes after the worker.
  if (isClusterTarget(backend)) return ioredisCluster(backend, 'wait');
  return ioredisConnection(backend, 'wait');
}

function postgresConnection(backend: Extract<BullmqBackend, { kind: 'postgres' }>): ConnectionOptions {
  // BullMQ's Postgres backend reads a pg pool config; `migrate` creates its tables on first use.
  return { connectionString: backend.url, schema: backend.schema, migrate: true, max: 5 };
}

/** Redis keeps a queue's keys under a prefix; PostgreSQL has its schema in the connection instead. */
export function prefixOption(backend: BullmqBackend, queue: string): { prefix?: string } {
  return backend.kind === 'redis' ? { prefix: queuePrefix(backend, queue) } : {};
}

/**
 * BullMQ's own telemetry (bullmq-otel) when tracing is on: producer spans for `add`, consumer spans
 * for each job, the trace context carried in the job so the consumer continues the producer's trace.
 */
export function telemetryOption(): { telemetry?: Telemetry } {
  const telemetry = queueTelemetry() as Telemetry | undefined;
  return telemetry === undefined ? {} : { telemetry };
}
