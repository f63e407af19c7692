import { Global, Logger, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DiscoveryModule } from '@nestjs/core';
import { databaseConfig, queueConfig, redisConfig } from '../../config/index.js';
import { type BullmqBackend, BullmqQueueDriver } from './drivers/bullmq.driver.js';
import { MemoryQueueDriver } from './drivers/memory.driver.js';
import type { DeclaredJobsView } from './drivers/job-ids.js';
import { JobCatalog } from './job-catalog.js';
import { JobRunner } from './job-runner.js';
import { JobsController } from './jobs.controller.js';
import { QueueWorkersService } from './queue-workers.service.js';
import { QueueDriver } from './queue.types.js';

/** Builds the driver QUEUE_DRIVER / QUEUE_BACKEND ask for; config validation already refused unknown ones. */
export function createQueueDriver(
  queue: ConfigType<typeof queueConfig>,
  redis: ConfigType<typeof redisConfig>,
  database: ConfigType<typeof databaseConfig>,
  declared: DeclaredJobsView,
): QueueDriver {
  const logger = new Logger('Queue');
  const retention = { keepCompletedMs: queue.keepCompletedMs, keepFailedMs: queue.keepFailedMs };
  switch (queue.driver) {
    case 'memory':
      logger.log('In-process queue (memory driver): jobs do not survive a restart');
      return new MemoryQueueDriver(retention, declared);
    case 'bullmq': {
      let backend: BullmqBackend;
      if (queue.backend === 'postgres') {
        if (database.driver !== 'postgres')
          throw new Error('QUEUE_BACKEND=postgres needs DATABASE_URL (BullMQ cannot run on PGlite)');
        backend = { kind: 'postgres', url: database.url, schema: queue.postgresSchema };
      } else {
        const prefix = `${redis.keyPrefix}:bull`;
        if (redis.clusterNodes) backend = { kind: 'redis', clusterNodes: redis.clusterNodes, prefix };
        else if (redis.url) backend = { kind: 'redis', url: redis.url, prefix };
        else throw new Error('QUEUE_DRIVER=bullmq needs REDIS_URL or REDIS_CLUSTER_NODES');
      }
      logger.log(`BullMQ queue on ${backend.kind}${'clusterNodes' in backend ? ' (cluster)' : ''}`);
      return new BullmqQueueDriver({ backend, ...retention }, declared);
    }
    default: {
      const unknown: never = queue.driver;
      throw new Error(`unknown queue driver ${String(unknown)}`);
    }
  }
}

/**
 * The queue: a `QueueDriver` (BullMQ on Redis or PostgreSQL, or in-memory) for producers and
 * workers, the catalog of the jobs features declared (`provideJobs`) with their `@JobHandler`s,
 * the workers' start and stop (unless WORKERS=false), and GET /v1/jobs/{id}.
 * See queue.types.ts for how a feature module declares, handles and enqueues jobs.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  controllers: [JobsController],
  providers: [
    JobCatalog,
    {
      provide: QueueDriver,
      inject: [queueConfig.KEY, redisConfig.KEY, databaseConfig.KEY, JobCatalog],
      useFactory: createQueueDriver,
    },
    JobRunner,
    QueueWorkersService,
  ],
  exports: [QueueDriver, QueueWorkersService],
})
export class QueueModule {}
