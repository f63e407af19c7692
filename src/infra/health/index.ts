// The public surface of infra/health for the composition root: import from here, not from its files.
export { HealthModule } from './health.module.js';
