import { defineQueue } from '../../infra/queue/index.js';

/** Outgoing messages (webhooks, email): short, idempotent jobs that wait on someone else's server. */
export const NOTIFICATIONS_QUEUE = defineQueue({ name: 'notifications', workers: 'short' });
