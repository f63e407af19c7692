/*
 * The typed contract between a feature and the outbox: a feature describes each aggregate it
 * writes once (`Aggregate`), emits its changes through that descriptor (`tx.emit(aggregate, kind,
 * state)`), and declares it with `OutboxModule.forFeature(aggregate)`. Infra that reacts to
 * changes (the cache's write-through) is handed the same descriptor, so the two cannot disagree on
 * a name: a mismatch is a compile error, not a silent no-op.
 *
 * ```ts
 * export const orderAggregate: Aggregate<OrderResponseDto, 'order'> = { type: 'order' };
 * tx.emit(orderAggregate, 'updated', toOrderResponse(row)); // type 'order.updated', aggregateId row.id
 * ```
 */

/** What a change did to its aggregate. The event type on the wire is `<aggregate type>.<kind>`. */
export type EventKind = 'created' | 'updated' | 'deleted';

/** What every emitted state carries: the entity's id (the event's `aggregateId`) and its version. */
export interface AggregateState {
  readonly id: string;
  readonly version: number;
}

/** Type-level only: ties a descriptor to the state it is emitted with. No value has it. */
declare const stateOf: unique symbol;

/**
 * One aggregate type: its name (`aggregateType` of its events, the prefix of their types) and,
 * at the type level, the state its events carry (the entity as the API returns it).
 */
export interface Aggregate<TState extends AggregateState = AggregateState, TType extends string = string> {
  readonly type: TType;
  readonly [stateOf]?: TState;
}

/** The event type of one kind of change, as webhooks and subscribers see it (`product.deleted`). */
export function eventType<TType extends string, TKind extends EventKind>(
  aggregate: Aggregate<AggregateState, TType>,
  kind: TKind,
): `${TType}.${TKind}` {
  return `${aggregate.type}.${kind}`;
}
