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

/**
 * Percentile `p` of per-packet round-trip times where `sent - times.length` packets never came
 * back, counted as later than any reply: when the percentile falls on a lost packet it is only
 * known to be at least `deadlineMs` (ping's -W), and says so.
 */
export function percentileWithLoss(
  times: readonly number[],
  sent: number,
  p: number,
  deadlineMs: number,
): { value: number; atLeast: boolean } {
  const lost = Math.max(0, sent - times.length);
  const all = [...times, ...Array<number>(lost).fill(Number.POSITIVE_INFINITY)];
  if (all.length === 0) return { value: deadlineMs, atLeast: true };
  const sorted = all.sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  if (!Number.isFinite(sorted[hi])) return { value: deadlineMs, atLeast: true };
  return { value: sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo), atLeast: false };
}
