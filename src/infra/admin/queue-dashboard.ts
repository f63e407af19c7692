import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { InjectBullBoard, type BullBoardInstance } from '@bull-board/nestjs';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { queueConfig } from '../../config/index.js';
import { BullmqQueueDriver } from '../queue/drivers/bullmq.driver.js';
import { QueueDriver } from '../queue/queue.types.js';

type BoardQueue = ConstructorParameters<typeof BullMQAdapter>[0];

/**
 * Puts every BullMQ queue on the bull-board dashboard at `/admin/queues`. With the in-memory
 * driver there is no BullMQ queue to show, and the dashboard stays empty; bull-board 9 reads
 * Redis directly, so queues on BullMQ's PostgreSQL backend are left off it too.
 */
@Injectable()
export class QueueDashboard implements OnModuleInit {
  private readonly logger = new Logger(QueueDashboard.name);

  constructor(
    @InjectBullBoard() private readonly board: BullBoardInstance,
    @Inject(QueueDriver) private readonly driver: QueueDriver,
    @Inject(queueConfig.KEY) private readonly config: ConfigType<typeof queueConfig>,
  ) {}

  onModuleInit(): void {
    if (!(this.driver instanceof BullmqQueueDriver)) return;
    if (this.config.backend !== 'redis') {
      this.logger.warn('the queue dashboard shows BullMQ queues on Redis only; /admin/queues stays empty');
      return;
    }
    // BullMQ 6 types its queues by backend; bull-board is typed for the Redis one, which these are.
    for (const queue of this.driver.queues.values()) this.board.addQueue(new BullMQAdapter(queue as unknown as BoardQueue));
  }
}
