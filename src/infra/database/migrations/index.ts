import { InitialSchema1764150000000 } from './1764150000000-initial-schema.js';
import { Notifications1764160000000 } from './1764160000000-notifications.js';
import { OutboxState1764170000000 } from './1764170000000-outbox-state.js';
import { ProductImports1764180000000 } from './1764180000000-product-imports.js';
import { SentEmailStatus1764190000000 } from './1764190000000-sent-email-status.js';
import { DeadLetterBody1764200000000 } from './1764200000000-dead-letter-body.js';
import { OutboxEventHolds1764630000000 } from './1764630000000-outbox-event-holds.js';
import { SentEmailSuppressed1764630000001 } from './1764630000001-sent-email-suppressed.js';
import { IdempotencyKeys1764640000000 } from './1764640000000-idempotency-keys.js';
import { OutboxTraceContext1764650000000 } from './1764650000000-outbox-trace-context.js';

/** Every migration, oldest first. `npm run migration:generate` writes new ones here; add them to this list. */
export const migrations = [
  InitialSchema1764150000000,
  Notifications1764160000000,
  OutboxState1764170000000,
  ProductImports1764180000000,
  SentEmailStatus1764190000000,
  DeadLetterBody1764200000000,
  OutboxEventHolds1764630000000,
  SentEmailSuppressed1764630000001,
  IdempotencyKeys1764640000000,
  OutboxTraceContext1764650000000,
];
