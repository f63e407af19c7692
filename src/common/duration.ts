/** Durations are milliseconds everywhere inside the service; these helpers make call sites say their unit. */
export const seconds = (n: number): number => n * 1000;
export const minutes = (n: number): number => n * 60_000;
