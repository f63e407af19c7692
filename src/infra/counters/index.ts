// The public surface of infra/counters for feature modules: import from here, not from its files.
export { CountersModule } from './counters.module.js';
export { CountersService } from './counters.service.js';
export type { CounterFamily, CountersStore, MemberCount, MemberTotals } from './counters.store.js';
// For feature unit tests: a real store in memory behind a real CountersService.
export { MemoryCountersStore } from './memory-counters.store.js';
