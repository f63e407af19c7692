import type { TraceCarrier } from '../tracing/index.js';

/** What a committed write tells the rest of the system. `payload` is the entity as the API returns it. */
export interface DomainEvent<TPayload = unknown> {
  id: string;
  type: string;
  aggregateType: string;
  aggregateId: string;
  occurredAt: string;
  payload: TPayload;
  /**
   * The trace context of the transaction that wrote it (tracing on only): the relay, the sweeper
   * and the event job continue that trace. Never sent to webhook receivers.
   */
  trace?: TraceCarrier;
}
