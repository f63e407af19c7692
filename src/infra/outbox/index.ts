// The public surface of infra/outbox for feature modules: import from here, not from its files.
export * from './domain-event.js';
export * from './event-subscriber.js';
export * from './unit-of-work.js';
