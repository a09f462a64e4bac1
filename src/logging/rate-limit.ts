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

/** The counts of one set of limits, shared by the views that write through other loggers. */
interface Limits {
  burst: number;
  intervalMs: number;
  kinds: Map<string, KindState>;
  now: () => number;
  /** Where the counts of suppressed lines are reported. */
  log: Logger;
}

export class RateLimitedLog {
  readonly burst: number;
  readonly intervalMs: number;
  private readonly limits: Limits;

  /** `now` is the clock (milliseconds, monotonic); tests may pass their own. */
  constructor(
    readonly log: Logger,
    opts: RateLimitOptions = {},
    now: () => number = () => performance.now(),
    shared?: Limits,
  ) {
    this.limits = shared ?? {
      burst: Math.max(1, opts.burst ?? DEFAULT_RATE_LIMIT.burst),
      intervalMs: Math.max(1, opts.intervalMs ?? DEFAULT_RATE_LIMIT.intervalMs),
      kinds: new Map(),
      now,
      log,
    };
    this.burst = this.limits.burst;
    this.intervalMs = this.limits.intervalMs;
  }

  /** The same limits and counts, with lines written through `log` (e.g. a child logger that
   * names a peer): many peers share one budget per kind. */
  through(log: Logger): RateLimitedLog {
    return new RateLimitedLog(log, {}, this.limits.now, this.limits);
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
    return this.limits.kinds.get(kind)?.suppressed ?? 0;
  }

  /** Reports every pending count now and forgets the intervals (at shutdown). */
  flush(): void {
    const kinds = this.limits.kinds;
    for (const [kind, s] of kinds) this.end(kind, s);
    kinds.clear();
  }

  /** Logs the line unless its kind is over its rate; true when it was logged. */
  private write(level: LimitedLevel, fields: object, msg: string, kind: string): boolean {
    if (!this.log.isLevelEnabled(level)) return false;
    const { kinds, intervalMs, burst } = this.limits;
    const now = this.limits.now();
    let key = kind;
    let s = kinds.get(key);
    if (s === undefined && kinds.size >= MAX_KINDS) {
      key = OTHER_KINDS;
      s = kinds.get(key);
    }
    if (s !== undefined && now - s.windowStart >= intervalMs) {
      this.end(key, s);
      s = undefined;
    }
    if (s === undefined) {
      s = { level, windowStart: now, logged: 0, suppressed: 0, timer: undefined };
      kinds.set(key, s);
    }
    if (s.logged < burst) {
      s.logged++;
      this.log[level](fields, msg);
      return true;
    }
    s.suppressed++;
    if (s.timer === undefined) {
      const state = s;
      s.timer = setTimeout(
        () => {
          if (kinds.get(key) === state) kinds.delete(key);
          this.end(key, state);
        },
        Math.max(1, s.windowStart + intervalMs - now),
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
    this.limits.log[s.level](
      { kind, suppressed: n, burst: this.burst, intervalS: seconds },
      `suppressed ${n} more "${kind}" lines (at most ${this.burst} per ${seconds} s)`,
    );
  }
}
