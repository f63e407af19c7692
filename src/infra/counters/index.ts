// The public surface of infra/counters for feature modules: import from here, not from its files.
export { CountersModule } from './counters.module.js';
export { CountersService } from './counters.service.js';
export type { CounterFamily, MemberCount, MemberTotals } from './counters.store.js';
