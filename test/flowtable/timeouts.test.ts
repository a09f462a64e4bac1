// Idle and hard timeouts, counters and entry age, in the table's own terms.
import { describe, expect, it } from "vitest";
import { FlowTable } from "../../src/flowtable/flow-table.js";
import { keyOf, ManualClock, matchOn, rule, type Ports } from "./helpers.js";

function clockedTable(): { t: FlowTable<Ports>; clock: ManualClock } {
  const clock = new ManualClock();
  return { t: new FlowTable<Ports>({ clock: clock.read }), clock };
}

describe("timeouts", () => {
  it("an entry unused for idleTimeout seconds is removed with reason idle-timeout", () => {
    const { t, clock } = clockedTable();
    t.add(rule(matchOn({ inPort: 1 }), { idleTimeout: 5, cookie: 1n, sendFlowRemoved: true }));
    t.add(rule(matchOn({ inPort: 2 }), { idleTimeout: 5, cookie: 2n }));
    clock.advance(4999);
    expect(t.expire()).toEqual([]);
    clock.advance(1);
    const removed = t.expire();
    expect(removed.map((r) => [r.entry.cookie, r.reason, r.entry.sendFlowRemoved])).toEqual([
      [1n, "idle-timeout", true],
      [2n, "idle-timeout", false],
    ]);
    expect(removed.map((r) => r.entry.ageMs(t.now))).toEqual([5000, 5000]);
    expect(t.activeCount).toBe(0);
    expect(t.lookup(keyOf({ inPort: 1 }))).toBeUndefined();
  });

  it("an entry hit within its idle timeout stays, and expires idleTimeout after its last hit", () => {
    const { t, clock } = clockedTable();
    const e = t.add(rule(matchOn({ inPort: 1 }), { idleTimeout: 5 })).entry!;
    clock.advance(3000);
    t.tick();
    t.recordHit(e, 64);
    clock.advance(2000);
    expect(t.expire()).toEqual([]);
    expect(t.nextExpiryMs()).toBe(clock.ms + 3000);
    clock.advance(3000);
    const [r] = t.expire();
    expect([r.reason, r.entry.packets, r.entry.bytes, r.entry.ageMs(t.now)]).toEqual([
      "idle-timeout",
      1,
      64,
      8000,
    ]);
  });

  it("recordHit stamps the entry with the table's coarse clock, which tick() refreshes", () => {
    const { t, clock } = clockedTable();
    const e = t.add(rule(matchOn({ inPort: 1 }))).entry!;
    clock.advance(700);
    t.recordHit(e, 1);
    expect(e.lastUsedMs).toBe(1000);
    t.tick();
    t.recordHit(e, 1);
    expect(e.lastUsedMs).toBe(1700);
  });

  it("hardTimeout removes an entry even while it is in use, with reason hard-timeout", () => {
    const { t, clock } = clockedTable();
    const e = t.add(rule(matchOn({ inPort: 1 }), { idleTimeout: 2, hardTimeout: 3 })).entry!;
    for (let i = 0; i < 5; i++) {
      clock.advance(500);
      t.tick();
      t.recordHit(e, 10);
      expect(t.expire()).toEqual([]);
    }
    clock.advance(500);
    const [r] = t.expire();
    expect([r.reason, r.entry.packets, r.entry.ageMs(t.now)]).toEqual(["hard-timeout", 5, 3000]);
  });

  it("entries without timeouts are never expired and not scheduled", () => {
    const { t, clock } = clockedTable();
    t.add(rule(matchOn({ inPort: 1 })));
    expect(t.nextExpiryMs()).toBeUndefined();
    clock.advance(1e9);
    expect(t.expire()).toEqual([]);
    expect(t.activeCount).toBe(1);
  });

  it("nextExpiryMs is the earliest deadline among scheduled entries; a deleted entry leaves", () => {
    const { t, clock } = clockedTable();
    t.add(rule(matchOn({ inPort: 1 }), { hardTimeout: 9 }));
    t.add(rule(matchOn({ inPort: 2 }), { idleTimeout: 4 }));
    t.add(rule(matchOn({ inPort: 3 }), { idleTimeout: 7 }));
    expect(t.nextExpiryMs()).toBe(clock.ms + 4000);
    t.delete({ match: matchOn({ inPort: 2 }), tables: "normal", strict: true, priority: 0x8000 });
    expect(t.nextExpiryMs()).toBe(clock.ms + 7000);
  });

  it("a modify keeps the timeouts and the age; a replacing add restarts them", () => {
    const { t, clock } = clockedTable();
    const a = t.add(rule(matchOn({ inPort: 1 }), { hardTimeout: 5 })).entry!;
    clock.advance(3000);
    t.modify({ match: matchOn({ inPort: 1 }), tables: "normal" }, [2]);
    expect([a.hardTimeout, a.ageMs(clock.ms)]).toEqual([5, 3000]);
    const b = t.add(rule(matchOn({ inPort: 1 }), { hardTimeout: 5 })).entry!;
    expect(b.ageMs(clock.ms)).toBe(0);
    clock.advance(2000);
    expect(t.expire()).toEqual([]);
    clock.advance(3000);
    expect(t.expire().map((r) => r.entry)).toEqual([b]);
  });
});
