import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { BULL_BOARD_ADAPTER, InjectBullBoard, type BullBoardInstance } from '@bull-board/nestjs';
import type { FastifyAdapter } from '@bull-board/fastify';
import { HttpException, Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { queueConfig } from '../../config/index.js';
import { BullmqQueueDriver, QueueDriver } from '../queue/index.js';

type BoardQueue = ConstructorParameters<typeof BullMQAdapter>[0];

/**
 * Puts every BullMQ queue on the bull-board dashboard at `/admin/queues`, read-only. With the
 * in-memory driver there is no BullMQ queue to show, and the dashboard stays empty; bull-board 9
 * reads Redis directly, so queues on BullMQ's PostgreSQL backend are left off it too.
 *
 * Read-only because a writable board is a signing oracle: "add job" (or "edit data" then
 * "retry") on the notifications queue would have the worker sign and send whatever the caller
 * wrote. bull-board answers 405 to add, retry, promote, update-data, clean, pause and empty.
 */
@Injectable()
export class QueueDashboard implements OnModuleInit {
  private readonly logger = new Logger(QueueDashboard.name);

  constructor(
    @InjectBullBoard() private readonly board: BullBoardInstance,
    @Inject(BULL_BOARD_ADAPTER) adapter: FastifyAdapter,
    @Inject(QueueDriver) private readonly driver: QueueDriver,
    @Inject(queueConfig.KEY) private readonly config: ConfigType<typeof queueConfig>,
  ) {
    // bull-board's own handler echoes the error's message, and its stack (absolute paths) when
    // NODE_ENV=development, our default. The board is registered later (at listen), so this
    // replacement is the one it uses.
    adapter.setErrorHandler(dashboardError);
  }

  onModuleInit(): void {
    if (!(this.driver instanceof BullmqQueueDriver)) return;
    if (this.config.backend !== 'redis') {
      this.logger.warn('the queue dashboard shows BullMQ queues on Redis only; /admin/queues stays empty');
      return;
    }
    // BullMQ 6 types its queues by backend; bull-board is typed for the Redis one, which these are.
    for (const queue of this.driver.queues.values()) {
      this.board.addQueue(new BullMQAdapter(queue as unknown as BoardQueue, { readOnlyMode: true }));
    }
  }
}

/**
 * A generic answer for anything the dashboard throws: 400 for a client error (such as a body
 * that is not JSON), 500 otherwise; never the message or a stack.
 */
export function dashboardError(error: Error & { statusCode?: number }): {
  status: 400 | 500;
  body: { type: string; title: string; status: number };
} {
  // Fastify's errors carry `statusCode`; ours (the JSON body parser's ProblemException) are HttpExceptions.
  const status = error instanceof HttpException ? error.getStatus() : error.statusCode;
  const clientError = typeof status === 'number' && status >= 400 && status < 500;
  return clientError
    ? { status: 400, body: { type: 'about:blank', title: 'Bad request to the queue dashboard', status: 400 } }
    : { status: 500, body: { type: 'about:blank', title: 'Internal Server Error', status: 500 } };
}
