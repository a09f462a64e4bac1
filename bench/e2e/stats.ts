// Order statistics for the harness's figures.

/**
 * Percentile `p` (0..100) by linear interpolation between closest ranks (the usual "type 7"
 * definition: p50 of [1,2,3,4] is 2.5); NaN for an empty sample. Non-finite values are ignored.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} outside 0..100`);
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** Median of the finite values, or null when there are none. */
export function median(values: readonly (number | null)[]): number | null {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return finite.length === 0 ? null : percentile(finite, 50);
}

/** Per-packet round-trip times (ms) from ping's output, in order. */
export function parsePingTimes(output: string): number[] {
  const times: number[] = [];
  for (const m of output.matchAll(/ time[=<]([\d.]+) ms/g)) times.push(Number(m[1]));
  return times;
}
