import { FastifyAdapter } from '@bull-board/fastify';
import { BullBoardModule } from '@bull-board/nestjs';
import { Module } from '@nestjs/common';
import { QueueDashboard } from './queue-dashboard.js';

/** The path of the queue dashboard (bull-board). */
export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * The operator surface under `/admin`: the bull-board queue dashboard. Access control is not
 * here but in `installAdminGuard` (a root Fastify hook over the whole prefix), because
 * bull-board's own `middleware` option guards only the exact dashboard path, not its API.
 */
@Module({
  imports: [
    BullBoardModule.forRoot({
      route: QUEUE_DASHBOARD_PATH,
      adapter: FastifyAdapter,
      boardOptions: { uiConfig: { boardTitle: 'Queues' } },
    }),
  ],
  providers: [QueueDashboard],
})
export class AdminModule {}
