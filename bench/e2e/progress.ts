// Progress lines: which peer, which figure, run k of n, elapsed / estimated total.

export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export class Progress {
  private readonly started = performance.now();
  private planned = 0;
  private done = 0;

  constructor(private readonly write: (line: string) => void = (l) => console.error(l)) {}

  /** Adds `seconds` to the estimated total (called while planning). */
  plan(seconds: number): void {
    this.planned += seconds;
  }

  /** Announces a step estimated at `seconds`; the estimate of the total follows actual pace. */
  step(what: string, seconds: number): void {
    const elapsed = (performance.now() - this.started) / 1000;
    const pace = this.done > 0 ? Math.max(0.5, Math.min(3, elapsed / this.done)) : 1;
    const estimate = elapsed + (this.planned - this.done) * pace;
    this.done += seconds;
    this.write(`[e2e ${clock(elapsed)} / ~${clock(estimate)}] ${what}`);
  }

  elapsedSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }
}
