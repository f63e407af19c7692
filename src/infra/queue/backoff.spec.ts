import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('waits between half and all of base × 2^(n-1) with jitter 0.5, at most maxDelay', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (base, retry, random) => {
          const step = base * 2 ** (retry - 1);
          const wait = backoffDelay({ type: 'exponential', delay: base, jitter: 0.5 }, retry, () => random);
          expect(wait).toBeGreaterThanOrEqual(Math.floor(step / 2));
          expect(wait).toBeLessThanOrEqual(step);
          expect(
            backoffDelay({ type: 'exponential', delay: base, jitter: 0.5, maxDelay: 30_000 }, retry, () => random),
          ).toBeLessThanOrEqual(30_000);
        },
      ),
    );
  });

  it('never shrinks from one retry to the next, whatever the random draws and the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 200_000 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 12, maxLength: 12 }),
        (base, cap, draws) => {
          const waits = draws.map((r, i) =>
            backoffDelay({ type: 'exponential', delay: base, jitter: 0.5, maxDelay: cap }, i + 1, () => r),
          );
          waits.slice(1).forEach((wait, i) => expect(wait).toBeGreaterThanOrEqual(waits[i]!));
        },
      ),
    );
  });

  it('is exactly the step without jitter, and constant for fixed', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay({ type: 'exponential', delay: 100 }, n))).toEqual([100, 200, 400, 800]);
    expect([1, 2, 3].map((n) => backoffDelay({ type: 'fixed', delay: 250 }, n))).toEqual([250, 250, 250]);
  });
});
