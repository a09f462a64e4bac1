// How much a switch can take, found by offering more until it stops keeping up, with the same
// trials for every peer. The searches only decide which rate to offer next; the trials (traffic
// and counters) are the caller's.

/** One fixed-rate trial of 64-byte frames. */
export interface FrameTrial {
  /** Rate asked of the generator (frames/s); 0 = as fast as it can. */
  requested: number;
  /** What it managed to send (host 1's veth tx_packets per second of sending). */
  offeredFps: number;
  /** What reached host 2's veth. */
  deliveredFps: number;
  lossPct: number;
  /** Switch CPU seconds over the trial (null where it cannot be attributed). */
  cpuS: number | null;
}

export interface SearchOptions {
  /** Largest loss (%) a passing trial may have (RFC 2544 asks for zero; 0.1 tolerates noise). */
  lossPct: number;
  /** Stop once the bracket [pass, fail] is narrower than this fraction of the failing rate. */
  resolution: number;
  /** At most this many trials after the one at the ceiling. */
  maxTrials: number;
}

export interface SearchResult {
  /** Highest offered rate that passed; when none did, the lowest offered rate that failed. */
  rate: number;
  /** The generator could not offer more than `rate`: the switch was not saturated. */
  atLeast: boolean;
  /** No trial passed: the zero-loss rate is below `rate`. */
  atMost: boolean;
  /** The passing trial that gave `rate`. */
  best: FrameTrial | null;
  trials: FrameTrial[];
}

/** A trial the generator could not run at the asked rate (it topped out below 97 % of it). */
export function generatorLimited(t: FrameTrial): boolean {
  return t.requested > 0 && t.offeredFps < 0.97 * t.requested;
}

/**
 * RFC 2544's throughput search: a trial at the generator's ceiling first (a pass there means
 * the switch took everything the generator could offer: "at least"), then a binary search on
 * the offered rate between the highest pass and the lowest failure.
 */
export async function zeroLossSearch(
  trial: (rate: number) => Promise<FrameTrial>,
  ceiling: number,
  o: SearchOptions,
): Promise<SearchResult> {
  const trials: FrameTrial[] = [];
  let best: FrameTrial | null = null;
  const pass = (t: FrameTrial) => t.lossPct <= o.lossPct && t.offeredFps > 0;
  const run = async (rate: number) => {
    const t = await trial(Math.round(rate));
    trials.push(t);
    if (pass(t) && (best === null || t.offeredFps > best.offeredFps)) best = t;
    return t;
  };
  const first = await run(ceiling);
  if (pass(first))
    return { rate: first.offeredFps, atLeast: true, atMost: false, best: first, trials };
  let lo = 0;
  let hi = Math.min(ceiling, first.offeredFps || ceiling);
  for (let i = 0; i < o.maxTrials && hi - lo > o.resolution * hi; i++) {
    const t = await run((lo + hi) / 2);
    if (pass(t)) {
      if (generatorLimited(t))
        return { rate: t.offeredFps, atLeast: true, atMost: false, best: t, trials };
      lo = t.offeredFps;
    } else {
      hi = Math.min((lo + hi) / 2, t.offeredFps || hi);
    }
  }
  const b = best as FrameTrial | null;
  if (b !== null) return { rate: b.offeredFps, atLeast: false, atMost: false, best: b, trials };
  const lowest = Math.min(...trials.map((t) => t.offeredFps));
  return { rate: lowest, atLeast: false, atMost: true, best: null, trials };
}

/** One flow-setup step: new flows offered at a rate, set up as fast as the switch could. */
export interface SetupStep {
  requested: number;
  /** What the sender achieved (flows/s). */
  offered: number;
  /** Flows set up per second (first send to last arrival). */
  achieved: number;
}

/**
 * Flow setups with the offered rate stepped up (each step a fresh set of flows) until the
 * achieved rate stops rising (less than `gain` above the best so far) or the sender cannot
 * offer more. The answer is the best step; "at least" when that was the last step and the
 * switch kept up with it (set up 90 % of what was offered): nothing showed where it stops.
 */
export async function steppedSetups(
  step: (rate: number) => Promise<SetupStep>,
  rates: readonly number[],
  gain = 1.05,
): Promise<{ best: SetupStep | null; atLeast: boolean; steps: SetupStep[] }> {
  const steps: SetupStep[] = [];
  let best: SetupStep | null = null;
  for (const rate of rates) {
    const s = await step(rate);
    steps.push(s);
    const rising = best === null || s.achieved >= gain * best.achieved;
    if (best === null || s.achieved > best.achieved) best = s;
    if (!rising) return { best, atLeast: false, steps };
    if (s.offered < 0.9 * rate) break; // the sender topped out: higher steps offer no more
  }
  const b = best as SetupStep | null;
  const atLeast = b !== null && b === steps.at(-1) && b.achieved >= 0.9 * b.offered;
  return { best: b, atLeast, steps };
}
