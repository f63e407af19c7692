export interface LatencySummary {
  /** Milliseconds, rounded to 0.01. `null` when nothing was recorded. */
  p50: number | null;
  p99: number | null;
  max: number | null;
  samples: number;
}

/** Collects latencies (ms) into a growable typed array; exact percentiles by sorting at the end. */
export class LatencyRecorder {
  private values = new Float64Array(1 << 16);
  private count = 0;

  record(ms: number): void {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = ms;
  }

  summary(): LatencySummary {
    if (this.count === 0) return { p50: null, p99: null, max: null, samples: 0 };
    const sorted = this.values.slice(0, this.count).sort();
    return {
      p50: round(percentile(sorted, 0.5)),
      p99: round(percentile(sorted, 0.99)),
      max: round(sorted[sorted.length - 1]!),
      samples: this.count,
    };
  }
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
