// Small statistics for latency samples. Pure functions, no I/O.

/**
 * The p-th percentile (0 < p <= 100) by the nearest-rank method: the smallest
 * sample such that at least p % of the samples are less than or equal to it,
 * i.e. the ceil(p/100 * n)-th smallest. Always one of the samples (never an
 * interpolation), so a p99 over 50 samples is the largest one: the
 * conservative reading for a latency target. null for no samples.
 */
export function percentile(samples: readonly number[], p: number): number | null {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile: p must be in (0, 100], got ${p}`);
  if (samples.length === 0) return null;
  if (samples.some((v) => !Number.isFinite(v))) throw new RangeError('percentile: samples must be finite numbers');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface LatencySummary {
  samples: number;
  min: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** min, p50, p90, p99 (nearest rank), max and mean of the samples. */
export function summarize(samples: readonly number[]): LatencySummary {
  const n = samples.length;
  return {
    samples: n,
    min: n ? Math.min(...samples) : null,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    max: n ? Math.max(...samples) : null,
    mean: n ? samples.reduce((a, b) => a + b, 0) / n : null,
  };
}
