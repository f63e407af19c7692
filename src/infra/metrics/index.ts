// The public surface of infra/metrics: import from here, not from its files.
export { MetricsModule } from './metrics.module.js';
export { MetricsService } from './metrics.service.js';
