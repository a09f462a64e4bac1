// A token bucket for packet-in rate limiting (OVS's controller_rate_limit and
// controller_burst_limit): `rate` tokens per second accrue up to `burst`; each packet-in
// takes one. A rate of 0 means no limit.
import { performance } from "node:perf_hooks";

export class TokenBucket {
  /** Requests refused for lack of tokens. */
  dropped = 0;
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    private readonly clock: () => number = () => performance.now(),
  ) {
    if (!(ratePerSec >= 0) || !(burst >= 1)) throw new RangeError("rate >= 0 and burst >= 1");
    this.tokens = burst;
    this.last = clock();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    if (this.ratePerSec === 0) return true;
    const now = this.clock();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1000);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.dropped++;
    return false;
  }
}

/** OVS's default burst: a quarter of the rate, at least 1. */
export function defaultBurst(ratePerSec: number): number {
  return Math.max(1, Math.floor(ratePerSec / 4));
}
