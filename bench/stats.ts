/**
 * Summary statistics of timing samples, shared by the kernel suites and the model benchmark.
 *
 * @module
 */

/** Median, minimum, 90th percentile and count of a set of samples. */
export interface Summary {
  /** Median (the mean of the two middle samples for an even count). */
  median: number;
  /** Smallest sample. */
  min: number;
  /** 90th percentile, linearly interpolated between the closest ranks. */
  p90: number;
  /** Number of samples. */
  count: number;
}

/** Summarises `samples`; throws on an empty list, since no statistic exists then. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error("Cannot summarise an empty list of samples");
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    min: sorted[0],
    p90: quantile(sorted, 0.9),
    count: sorted.length,
  };
}

/** The `q` quantile of ascending `sorted`, interpolating linearly between closest ranks. */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
