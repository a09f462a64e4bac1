// The outage report: warn once with the error, again at a slow interval (or when the error
// changes) while it lasts, info once when it ends; time is faked.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OutageReport } from "../../src/logging/outage.js";
import { memoryLogger } from "../support/log-sink.js";

describe("OutageReport", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("warns at the first failure, every repeatMs while it lasts, and once at info when it ends", () => {
    const { log, lines } = memoryLogger();
    const o = new OutageReport(
      log,
      "controller",
      { controller: "tcp:127.0.0.1:1" },
      {
        repeatMs: 30_000,
      },
    );
    expect(o.ongoing).toBe(false);
    o.recovered(); // nothing to end
    expect(lines).toEqual([]);
    for (let t = 0; t < 95; t++) {
      o.failed("connect ECONNREFUSED 127.0.0.1:1");
      vi.advanceTimersByTime(1000);
    }
    expect(o.ongoing).toBe(true);
    // at 0, 30, 60 and 90 s
    expect(lines.map((l) => [l.level, l.msg, l.failedAttempts])).toEqual([
      [40, "controller unreachable", 1],
      [40, "controller still unreachable", 31],
      [40, "controller still unreachable", 61],
      [40, "controller still unreachable", 91],
    ]);
    expect(lines[0]).toMatchObject({
      controller: "tcp:127.0.0.1:1",
      error: "connect ECONNREFUSED 127.0.0.1:1",
      unreachableS: 0,
      remindEveryS: 30,
    });
    expect(lines[3].unreachableS).toBe(90);
    o.recovered();
    expect(lines[4]).toMatchObject({
      level: 30,
      msg: "controller reachable again after 95 s",
      controller: "tcp:127.0.0.1:1",
      failedAttempts: 95,
    });
    expect(o.ongoing).toBe(false);
    o.recovered();
    expect(lines).toHaveLength(5);
  });

  it("reports at once when the error changes, and a new outage starts afresh", () => {
    const { log, lines } = memoryLogger();
    const o = new OutageReport(log, "controller", {}, { repeatMs: 60_000 });
    o.failed("connect ECONNREFUSED");
    o.failed("connect ECONNREFUSED");
    o.failed("certificate signature failure");
    o.failed("certificate signature failure");
    expect(lines.map((l) => l.error)).toEqual([
      "connect ECONNREFUSED",
      "certificate signature failure",
    ]);
    o.recovered();
    o.failed("connect ECONNREFUSED");
    expect(lines.at(-1)).toMatchObject({ msg: "controller unreachable", failedAttempts: 1 });
  });
});
