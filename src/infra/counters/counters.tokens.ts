/** The resolved `CountersOptions` (flush interval and buffer limits). */
export const COUNTERS_OPTIONS = Symbol('COUNTERS_OPTIONS');
