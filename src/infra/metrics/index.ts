// The public surface of infra/metrics for feature modules: import from here, not from its files.
export * from './metrics.service.js';
