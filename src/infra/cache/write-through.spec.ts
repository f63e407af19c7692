import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { type Aggregate, DeclaredAggregates, eventType, OutboxModule, type TransactionScope } from '../outbox/index.js';
import { CacheModule } from './cache.module.js';
import { type CachedAggregate, writeThroughMismatches } from './write-through.js';

interface Widget {
  id: string;
  version: number;
  colour: string;
}
interface Gadget {
  id: string;
  version: number;
  size: number;
}

const widgets: CachedAggregate<Widget, 'widget'> = {
  type: 'widget',
  cache: { key: (id) => `widget:${id}`, tags: ['widgets'], notFound: 'Widget not found' },
};
const gadgets: CachedAggregate<Gadget, 'gadget'> = {
  type: 'gadget',
  cache: { key: (id) => `gadget:${id}`, notFound: 'Gadget not found' },
};
/** Emitted, never cached: no rule is expected for it. */
const audits: Aggregate<{ id: string; version: number }, 'audit'> = { type: 'audit' };

/** What `OutboxModule` provides, without its database: the declarations the check reads. */
@Global()
@Module({ providers: [DeclaredAggregates], exports: [DeclaredAggregates] })
class DeclarationsModule {}

const quiet = (): void => undefined;

/** Boots the cache (memory store) with features that declare `emitted` and `cached`. */
async function boot(emitted: Aggregate[], cached: CachedAggregate[]) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DeclarationsModule,
      CacheModule.forRoot({ store: 'memory', ttlMs: 60_000, negativeTtlMs: 5000, lockWaitMs: 0 }),
      ...(emitted.length > 0 ? [OutboxModule.forFeature(...emitted)] : []),
      ...(cached.length > 0 ? [CacheModule.forFeature(...cached)] : []),
    ],
  })
    .setLogger({ log: quiet, warn: quiet, error: quiet, debug: quiet, verbose: quiet })
    .compile();
  return moduleRef.init();
}

describe('write-through start-up check', () => {
  it('accepts rules that match the emitted aggregates, and an emitted aggregate without a cache layout', () => {
    expect(writeThroughMismatches([widgets, gadgets, audits], [widgets, gadgets])).toEqual([]);
  });

  it('refuses a rule for an aggregate no module emits', () => {
    expect(writeThroughMismatches([widgets], [widgets, gadgets])).toEqual([
      'cache write-through rule for aggregate "gadget", which no module emits (OutboxModule.forFeature)',
    ]);
  });

  it('refuses an emitted aggregate that has a cache layout but no rule', () => {
    expect(writeThroughMismatches([widgets, gadgets, audits], [widgets])).toEqual([
      'aggregate "gadget" has a cache layout and is emitted, but has no write-through rule (CacheModule.forFeature)',
    ]);
  });

  it('refuses a rule whose descriptor is another object than the emitted one, even under the same name', () => {
    const copy: CachedAggregate<Widget, 'widget'> = { ...widgets };
    expect(writeThroughMismatches([widgets], [copy])).toHaveLength(2);
  });

  it('fails the application start-up on a mismatch, and starts when the declarations agree', async () => {
    await expect(boot([widgets], [widgets, gadgets])).rejects.toThrow(
      'cache write-through rule for aggregate "gadget", which no module emits',
    );
    await expect(boot([widgets, gadgets], [widgets])).rejects.toThrow(
      'aggregate "gadget" has a cache layout and is emitted, but has no write-through rule',
    );
    const app = await boot([widgets, gadgets, audits], [widgets, gadgets]);
    await app.close();
  });

  it('refuses two descriptors for one aggregate type', () => {
    const declared = new DeclaredAggregates();
    declared.add([widgets, widgets]);
    expect(() => declared.add([{ ...widgets }])).toThrow('Two aggregate descriptors for type "widget"');
  });
});

describe('the aggregate contract is typed', () => {
  it('derives the event type on the wire from the descriptor and the kind', () => {
    const deleted: 'widget.deleted' = eventType(widgets, 'deleted');
    expect(deleted).toBe('widget.deleted');
  });

  it('refuses, at compile time, what used to fail silently (checked by npm run typecheck)', () => {
    // Never called: each line below must not compile (an unused @ts-expect-error fails the typecheck).
    const misuses = (tx: TransactionScope, widget: Widget, gadget: Gadget) => {
      // @ts-expect-error the state of another aggregate
      tx.emit(widgets, 'updated', gadget);
      // @ts-expect-error a kind that does not exist (kinds are a field, not a type suffix)
      tx.emit(widgets, 'removed', widget);
      // @ts-expect-error a state without its version
      tx.emit(widgets, 'created', { id: widget.id, colour: widget.colour });
      // @ts-expect-error a type name and id instead of the descriptor
      tx.emit('widget.created', { type: 'widget', id: widget.id }, widget);
      // @ts-expect-error write-through for an aggregate without a cache layout
      CacheModule.forFeature(audits);
    };
    expect(typeof misuses).toBe('function');
  });
});
