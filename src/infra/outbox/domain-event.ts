/** What a committed write tells the rest of the system. `payload` is the entity as the API returns it. */
export interface DomainEvent<TPayload = unknown> {
  id: string;
  type: string;
  aggregateType: string;
  aggregateId: string;
  occurredAt: string;
  payload: TPayload;
}
