// The public surface of infra/queue for feature modules: import from here, not from its files.
export * from './queue.types.js';
