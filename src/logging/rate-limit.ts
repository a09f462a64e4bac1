// Rate-limited logging, as Open vSwitch's VLOG_RATE_LIMIT: of each kind of line, the first
// `burst` of an interval are logged; the rest are counted, and when the interval ends one line
// says how many were suppressed. A peer that sends a million malformed messages then costs a
// few lines a minute, not a million. The kind is the line's message unless given: a fixed text
// of the call site, never something a peer chose, so the table of kinds stays small.
import type { Logger } from "pino";

export type LimitedLevel = "error" | "warn" | "info" | "debug";

export interface RateLimitOptions {
  /** Lines of one kind logged per interval (default 5). */
  burst?: number;
  /** The interval in milliseconds (default 60 s, as OVS counts its rates per minute). */
  intervalMs?: number;
}

export const DEFAULT_RATE_LIMIT: Required<RateLimitOptions> = { burst: 5, intervalMs: 60_000 };

/** Kinds tracked at once; beyond this, lines of new kinds share one entry. */
const MAX_KINDS = 256;
const OTHER_KINDS = "(other kinds)";

interface KindState {
  level: LimitedLevel;
  windowStart: number;
  logged: number;
  suppressed: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class RateLimitedLog {
  readonly burst: number;
  readonly intervalMs: number;
  private readonly kinds = new Map<string, KindState>();

  /** `now` is the clock (milliseconds, monotonic); tests may pass their own. */
  constructor(
    readonly log: Logger,
    opts: RateLimitOptions = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.burst = Math.max(1, opts.burst ?? DEFAULT_RATE_LIMIT.burst);
    this.intervalMs = Math.max(1, opts.intervalMs ?? DEFAULT_RATE_LIMIT.intervalMs);
  }

  error(fields: object, msg: string, kind = msg): boolean {
    return this.write("error", fields, msg, kind);
  }

  warn(fields: object, msg: string, kind = msg): boolean {
    return this.write("warn", fields, msg, kind);
  }

  info(fields: object, msg: string, kind = msg): boolean {
    return this.write("info", fields, msg, kind);
  }

  debug(fields: object, msg: string, kind = msg): boolean {
    return this.write("debug", fields, msg, kind);
  }

  /** Lines of `kind` suppressed in its current interval (not yet reported). */
  suppressed(kind: string): number {
    return this.kinds.get(kind)?.suppressed ?? 0;
  }

  /** Reports every pending count now and forgets the intervals (at shutdown). */
  flush(): void {
    for (const [kind, s] of this.kinds) this.end(kind, s);
    this.kinds.clear();
  }

  /** Logs the line unless its kind is over its rate; true when it was logged. */
  private write(level: LimitedLevel, fields: object, msg: string, kind: string): boolean {
    if (!this.log.isLevelEnabled(level)) return false;
    const now = this.now();
    let key = kind;
    let s = this.kinds.get(key);
    if (s === undefined && this.kinds.size >= MAX_KINDS) {
      key = OTHER_KINDS;
      s = this.kinds.get(key);
    }
    if (s !== undefined && now - s.windowStart >= this.intervalMs) {
      this.end(key, s);
      s = undefined;
    }
    if (s === undefined) {
      s = { level, windowStart: now, logged: 0, suppressed: 0, timer: undefined };
      this.kinds.set(key, s);
    }
    if (s.logged < this.burst) {
      s.logged++;
      this.log[level](fields, msg);
      return true;
    }
    s.suppressed++;
    if (s.timer === undefined) {
      const state = s;
      s.timer = setTimeout(
        () => {
          if (this.kinds.get(key) === state) this.kinds.delete(key);
          this.end(key, state);
        },
        Math.max(1, s.windowStart + this.intervalMs - now),
      );
      s.timer.unref?.();
    }
    return false;
  }

  /** Ends an interval: one line with the count of what it suppressed, if anything. */
  private end(kind: string, s: KindState): void {
    if (s.timer !== undefined) clearTimeout(s.timer);
    s.timer = undefined;
    if (s.suppressed === 0) return;
    const n = s.suppressed;
    s.suppressed = 0;
    const seconds = Number((this.intervalMs / 1000).toFixed(1));
    this.log[s.level](
      { kind, suppressed: n, burst: this.burst, intervalS: seconds },
      `suppressed ${n} more "${kind}" lines (at most ${this.burst} per ${seconds} s)`,
    );
  }
}
