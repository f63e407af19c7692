// The public surface of infra/queue: import from here, not from its files. queue.types.ts is the
// driver-neutral API features use; the BullMQ driver is exported for the admin dashboard only.
export { BullmqQueueDriver } from './drivers/bullmq.driver.js';
export { QueueModule } from './queue.module.js';
export * from './queue.types.js';
