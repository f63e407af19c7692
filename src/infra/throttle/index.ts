// The public surface of infra/throttle for feature modules: import from here, not from its files.
export * from './client-key.js';
