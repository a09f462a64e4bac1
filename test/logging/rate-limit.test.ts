// The rate-limited log: a few lines per kind per interval, then one line with the count of the
// suppressed ones, on a real pino logger whose lines are kept in memory; time is faked.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RateLimitedLog } from "../../src/logging/rate-limit.js";
import { memoryLogger } from "../support/log-sink.js";

const WARN = 40;

describe("RateLimitedLog", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("logs the first `burst` lines of a kind, then one count of the rest when the interval ends", () => {
    const { log, lines } = memoryLogger();
    const rl = new RateLimitedLog(log, { burst: 3, intervalMs: 10_000 });
    const logged = Array.from({ length: 1000 }, (_, i) =>
      rl.warn({ peer: "x", i }, "malformed message"),
    );
    expect(logged.filter(Boolean)).toHaveLength(3);
    expect(lines.map((l) => l.i)).toEqual([0, 1, 2]);
    expect(rl.suppressed("malformed message")).toBe(997);
    vi.advanceTimersByTime(9_999);
    expect(lines).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatchObject({
      level: WARN,
      kind: "malformed message",
      suppressed: 997,
      burst: 3,
      intervalS: 10,
    });
    expect(lines[3].msg).toMatch(/suppressed 997 more "malformed message" lines/);
    // a new interval: a fresh burst
    expect(rl.warn({ i: 1000 }, "malformed message")).toBe(true);
    expect(lines).toHaveLength(5);
  });

  it("counts each kind separately, and the summary keeps the level of its lines", () => {
    const { log, lines } = memoryLogger();
    const rl = new RateLimitedLog(log, { burst: 2, intervalMs: 1000 });
    for (let i = 0; i < 10; i++) {
      rl.warn({}, "bad message length");
      rl.info({}, "session closed");
      rl.warn({ why: i }, "some text", "custom kind");
    }
    expect(lines.map((l) => l.msg)).toEqual([
      "bad message length",
      "session closed",
      "some text",
      "bad message length",
      "session closed",
      "some text",
    ]);
    vi.advanceTimersByTime(1000);
    const summaries = lines.slice(6);
    expect(summaries.map((l) => [l.kind, l.suppressed, l.level])).toEqual([
      ["bad message length", 8, WARN],
      ["session closed", 8, 30],
      ["custom kind", 8, WARN],
    ]);
  });

  it("writes no summary for an interval that suppressed nothing, and starts a new interval after one", () => {
    const { log, lines } = memoryLogger();
    const rl = new RateLimitedLog(log, { burst: 2, intervalMs: 1000 });
    rl.warn({}, "a");
    vi.advanceTimersByTime(5000);
    expect(lines).toHaveLength(1);
    rl.warn({}, "a");
    rl.warn({}, "a");
    expect(lines).toHaveLength(3); // the first interval had ended: two more are allowed
    expect(rl.warn({}, "a")).toBe(false);
  });

  it("reports a pending count when the next line comes after the interval, before the timer", () => {
    const { log, lines } = memoryLogger();
    let clock = 0;
    const rl = new RateLimitedLog(log, { burst: 1, intervalMs: 1000 }, () => clock);
    rl.warn({}, "a");
    rl.warn({}, "a");
    clock = 2000; // e.g. the event loop was blocked: the timer has not run yet
    expect(rl.warn({ n: 2 }, "a")).toBe(true);
    expect(lines.map((l) => l.suppressed ?? l.n ?? "first")).toEqual(["first", 1, 2]);
    vi.advanceTimersByTime(5000);
    expect(lines).toHaveLength(3); // the count was reported once
  });

  it("flush() reports every pending count at once and cancels the timers", () => {
    const { log, lines } = memoryLogger();
    const rl = new RateLimitedLog(log, { burst: 1, intervalMs: 60_000 });
    for (let i = 0; i < 5; i++) rl.warn({}, "a");
    for (let i = 0; i < 3; i++) rl.error({}, "b");
    rl.flush();
    expect(lines.slice(2).map((l) => [l.kind, l.suppressed])).toEqual([
      ["a", 4],
      ["b", 2],
    ]);
    vi.advanceTimersByTime(120_000);
    expect(lines).toHaveLength(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("counts nothing at a level the logger does not write", () => {
    const { log, lines } = memoryLogger("info");
    const rl = new RateLimitedLog(log, { burst: 1, intervalMs: 1000 });
    for (let i = 0; i < 10; i++) expect(rl.debug({}, "d")).toBe(false);
    expect(rl.suppressed("d")).toBe(0);
    vi.advanceTimersByTime(2000);
    expect(lines).toEqual([]);
  });

  it("through(): views writing through child loggers share one budget per kind", () => {
    const { log, lines } = memoryLogger();
    const rl = new RateLimitedLog(log, { burst: 3, intervalMs: 1000 });
    const peers = [1, 2, 3, 4].map((n) => rl.through(log.child({ peer: n })));
    for (let i = 0; i < 10; i++) for (const p of peers) p.warn({}, "malformed message");
    expect(lines.map((l) => l.peer)).toEqual([1, 2, 3]);
    vi.advanceTimersByTime(1000);
    expect(lines[3]).toMatchObject({ suppressed: 37, kind: "malformed message" });
    expect(lines[3].peer).toBeUndefined(); // the count is the parent's line
    expect(peers[0].suppressed("malformed message")).toBe(0);
  });

  it("keeps its table bounded when kinds are many", () => {
    const { log, lines } = memoryLogger();
    const rl = new RateLimitedLog(log, { burst: 1, intervalMs: 1000 });
    for (let i = 0; i < 10_000; i++) rl.warn({}, `kind ${i}`);
    // 256 kinds get their own line; the rest share one entry: one line, then a count
    expect(lines).toHaveLength(257);
    vi.advanceTimersByTime(1000);
    expect(lines[257]).toMatchObject({ kind: "(other kinds)", suppressed: 10_000 - 257 });
  });
});
