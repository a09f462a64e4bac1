// How much V8's young generation grows over a piece of work: the measure of "allocates
// nothing per frame" for the allocation tests (test/datapath/frame-path-allocation.test.ts,
// test/packet/parse.test.ts).
import { getHeapSpaceStatistics } from "node:v8";
import { PerformanceObserver } from "node:perf_hooks";

export const youngUsed = () =>
  getHeapSpaceStatistics()
    .filter((s) => s.space_name === "new_space")
    .reduce((n, s) => n + s.space_used_size, 0);

/**
 * How much the young generation grew over `run`, from the first of five attempts in which no
 * collection fell (a collection for reasons of its own, the test runner's, voids an attempt);
 * -1 when one fell inside every attempt. Each attempt starts after `pauseMs` outside it.
 */
export async function youngGrowth(run: () => Promise<void>, pauseMs = 0): Promise<number> {
  let collections = 0;
  const gc = new PerformanceObserver((list) => (collections += list.getEntries().length));
  gc.observe({ entryTypes: ["gc"] });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      const before = youngUsed();
      collections = 0;
      await run();
      const after = youngUsed();
      await new Promise((r) => setTimeout(r, 0)); // let the observer report
      if (collections === 0) return after - before;
    }
    return -1;
  } finally {
    gc.disconnect();
  }
}
