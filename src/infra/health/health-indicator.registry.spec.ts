import { describe, expect, it } from 'vitest';
import { HealthIndicatorRegistry } from './health-indicator.registry.js';

describe('HealthIndicatorRegistry', () => {
  it('keeps probes in registration order', () => {
    const registry = new HealthIndicatorRegistry();
    const database = () => Promise.resolve();
    const queue = () => Promise.resolve();
    registry.register('database', database);
    registry.register('queue', queue);
    expect(registry.entries()).toEqual([
      ['database', database],
      ['queue', queue],
    ]);
  });

  it('refuses a duplicate or malformed name', () => {
    const registry = new HealthIndicatorRegistry();
    registry.register('redis', () => Promise.resolve());
    expect(() => registry.register('redis', () => Promise.resolve())).toThrow(/already registered/);
    expect(() => registry.register('Bad Name', () => Promise.resolve())).toThrow(/lower-case/);
  });
});
