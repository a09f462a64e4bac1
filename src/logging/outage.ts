// A condition that lasts and is retried, such as a controller that cannot be reached: reported
// at warn level when it starts (with the error), again every `repeatMs` while it lasts (the
// latest error, the failed attempts, for how long), at once when the error changes, and once at
// info level when it ends. Open vSwitch's rconn logs each attempt until its backoff reaches the
// maximum and then goes quiet for good; an operator who looks later cannot tell that it is
// still failing. Here the attempts themselves stay at debug level.
import type { Logger } from "pino";

export const DEFAULT_OUTAGE_REPEAT_MS = 60_000;

export interface OutageOptions {
  /** While the condition lasts, a reminder this often (default 60 s). */
  repeatMs?: number;
}

export class OutageReport {
  /** Failed attempts in the current outage (0 when there is none). */
  failures = 0;
  private since = -1;
  private lastReportAt = 0;
  private lastError = "";
  private readonly repeatMs: number;

  /**
   * `what` names the thing, e.g. "controller"; `fields` go on every line (e.g. its target).
   */
  constructor(
    private readonly log: Logger,
    private readonly what: string,
    private readonly fields: object,
    opts: OutageOptions = {},
  ) {
    this.repeatMs = Math.max(1, opts.repeatMs ?? DEFAULT_OUTAGE_REPEAT_MS);
  }

  /** True between a failure and the next success. */
  get ongoing(): boolean {
    return this.since >= 0;
  }

  /** An attempt failed with `error` (a one-line reason). */
  failed(error: string): void {
    const now = performance.now();
    this.failures++;
    if (this.since < 0) {
      this.since = now;
      this.report(now, error, `${this.what} unreachable`);
    } else if (error !== this.lastError || now - this.lastReportAt >= this.repeatMs) {
      this.report(now, error, `${this.what} still unreachable`);
    }
  }

  /** An attempt succeeded: ends the outage, if there was one, with one info line. */
  recovered(): void {
    if (this.since < 0) return;
    const down = this.elapsedS(performance.now());
    this.log.info(
      { ...this.fields, failedAttempts: this.failures, unreachableS: down },
      `${this.what} reachable again after ${down} s`,
    );
    this.since = -1;
    this.failures = 0;
    this.lastError = "";
  }

  private report(now: number, error: string, msg: string): void {
    this.lastReportAt = now;
    this.lastError = error;
    this.log.warn(
      {
        ...this.fields,
        error,
        failedAttempts: this.failures,
        unreachableS: this.elapsedS(now),
        remindEveryS: this.repeatMs / 1000,
      },
      msg,
    );
  }

  private elapsedS(now: number): number {
    return Math.round((now - this.since) / 100) / 10;
  }
}
