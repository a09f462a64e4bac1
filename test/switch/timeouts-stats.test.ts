// Timeouts, stats and the emergency table as a controller sees them: FLOW_REMOVED reasons and
// durations, FLOW / AGGREGATE / TABLE stats bodies, the EMERG flag, through the switch's
// translation (of-table.ts). The table's own timeout mechanics: test/flowtable/timeouts.test.ts.
import { describe, expect, it } from "vitest";
import {
  OFPET,
  OFPFC,
  OFPFF,
  OFPFMFC,
  OFPFW,
  OFPP,
  OFPRR,
  OFPTT,
} from "../../src/openflow/of10/constants.js";
import { flowMod, keyOf, ManualClock, matchOf, OfTable, output } from "./of-table.js";

function clockedTable(): { t: OfTable; clock: ManualClock } {
  const clock = new ManualClock();
  return { t: new OfTable({ clock: clock.read }), clock };
}

describe("timeouts", () => {
  it("an entry unused for idle_timeout seconds is removed with reason IDLE_TIMEOUT (OF1.0 §4.6)", () => {
    const { t, clock } = clockedTable();
    t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 1 }), idleTimeout: 5, flags: OFPFF.SEND_FLOW_REM }),
    );
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 2 }), idleTimeout: 5 }));
    clock.advance(4999);
    expect(t.expire()).toEqual([]);
    clock.advance(1);
    const removed = t.expire();
    expect(removed.map((r) => [r.match.inPort, r.reason, r.sendFlowRem, r.durationSec])).toEqual([
      [1, OFPRR.IDLE_TIMEOUT, true, 5],
      [2, OFPRR.IDLE_TIMEOUT, false, 5],
    ]);
    expect(t.activeCount).toBe(0);
    expect(t.lookup(keyOf({ inPort: 1 }))).toBeUndefined();
  });

  it("hard_timeout removes an entry even while it is in use, with reason HARD_TIMEOUT", () => {
    const { t, clock } = clockedTable();
    const e = t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 1 }), idleTimeout: 2, hardTimeout: 3 }),
    ).entry!;
    for (let i = 0; i < 5; i++) {
      clock.advance(500);
      t.tick();
      t.recordHit(e, 10);
      expect(t.expire()).toEqual([]);
    }
    const [r] = (clock.advance(500), t.expire());
    expect([r.reason, r.packetCount, r.durationSec]).toEqual([OFPRR.HARD_TIMEOUT, 5n, 3]);
  });

  it("durations are reported in whole seconds plus nanoseconds", () => {
    const { t, clock } = clockedTable();
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }) }));
    clock.advance(7123.456789);
    const [s] = t.flowStats(matchOf({}), 0, OFPP.NONE);
    expect([s.durationSec, s.durationNsec]).toEqual([7, 123_456_789]);
  });
});

describe("stats", () => {
  function populated(): OfTable {
    const t = new OfTable({ clock: () => 0, maxEntries: 100 });
    const a = t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 1, dlType: 0x800 }), cookie: 1n }),
    ).entry!;
    const b = t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 1 }), actions: [output(3)], cookie: 2n }),
    ).entry!;
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 2 }), cookie: 3n }));
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), cookie: 4n, flags: OFPFF.EMERG }));
    t.recordHit(a, 100);
    t.recordHit(a, 50);
    t.recordHit(b, 7);
    return t;
  }

  it("flow stats select entries at least as specific as the request, filtered by out_port", () => {
    const t = populated();
    const cookies = (m: ReturnType<typeof matchOf>, tableId: number, outPort: number): bigint[] =>
      t.flowStats(m, tableId, outPort).map((s) => s.cookie);
    expect(cookies(matchOf({ inPort: 1 }), 0, OFPP.NONE)).toEqual([1n, 2n]);
    expect(cookies(matchOf({ inPort: 1, dlType: 0x800 }), 0, OFPP.NONE)).toEqual([1n]);
    expect(cookies(matchOf({}), 0, 3)).toEqual([2n]);
    const [s] = t.flowStats(matchOf({ inPort: 1, dlType: 0x800 }), 0, OFPP.NONE);
    expect([s.tableId, s.packetCount, s.byteCount, s.priority, s.actions]).toEqual([
      0,
      2n,
      150n,
      0x8000,
      [output(1)],
    ]);
  });

  it("flow stats table_id 0xff covers both tables, 0xfe the emergency table, another id none", () => {
    const t = populated();
    const ids = (tableId: number): [number, bigint][] =>
      t.flowStats(matchOf({}), tableId, OFPP.NONE).map((s) => [s.tableId, s.cookie]);
    expect(ids(OFPTT.ALL)).toEqual([
      [0, 1n],
      [0, 2n],
      [0, 3n],
      [OFPTT.EMERG, 4n],
    ]);
    expect(ids(OFPTT.EMERG)).toEqual([[OFPTT.EMERG, 4n]]);
    expect(ids(1)).toEqual([]);
  });

  it("aggregate stats sum packets and bytes over the selected entries", () => {
    const t = populated();
    expect(t.aggregateStats(matchOf({ inPort: 1 }), 0, OFPP.NONE)).toEqual({
      packetCount: 3n,
      byteCount: 157n,
      flowCount: 2,
    });
    expect(t.aggregateStats(matchOf({}), OFPTT.ALL, OFPP.NONE).flowCount).toBe(4);
  });

  it("table stats describe table 0 'classifier': all wildcards, max entries, active count, lookups, matches", () => {
    const t = populated();
    t.lookup(keyOf({ inPort: 1 }));
    t.lookup(keyOf({ inPort: 9 }));
    expect(t.tableStats()).toEqual([
      {
        tableId: 0,
        name: "classifier",
        wildcards: OFPFW.ALL,
        maxEntries: 100,
        activeCount: 3,
        lookupCount: 2n,
        matchedCount: 1n,
      },
    ]);
  });
});

describe("emergency table", () => {
  it("an EMERG entry with a nonzero idle or hard timeout fails with BAD_EMERG_TIMEOUT (OF1.0 §4.6)", () => {
    const t = new OfTable({ clock: () => 0 });
    for (const to of [{ idleTimeout: 1 }, { hardTimeout: 1 }]) {
      expect(
        t.applyFlowMod(flowMod({ match: matchOf({}), flags: OFPFF.EMERG, ...to })).error,
      ).toEqual({
        errType: OFPET.FLOW_MOD_FAILED,
        code: OFPFMFC.BAD_EMERG_TIMEOUT,
      });
    }
    expect(t.emergencyCount).toBe(0);
  });

  it("emergency entries serve lookups only in emergency mode, and entering it deletes all normal entries (OF1.0 §4.3)", () => {
    const t = new OfTable({ clock: () => 0 });
    t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 1 }), cookie: 1n, flags: OFPFF.SEND_FLOW_REM }),
    );
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 2 }), cookie: 2n }));
    t.applyFlowMod(flowMod({ match: matchOf({}), cookie: 3n, flags: OFPFF.EMERG }));
    expect(t.lookup(keyOf({ inPort: 1 }))?.cookie).toBe(1n);
    expect(t.lookup(keyOf({ inPort: 5 }))).toBeUndefined();
    const removed = t.setEmergencyMode(true);
    expect(removed.map((r) => [r.cookie, r.reason, r.sendFlowRem])).toEqual([
      [1n, OFPRR.DELETE, true],
      [2n, OFPRR.DELETE, false],
    ]);
    expect(t.activeCount).toBe(0);
    expect(t.lookup(keyOf({ inPort: 1 }))?.cookie).toBe(3n);
    expect(t.setEmergencyMode(true)).toEqual([]);
    t.setEmergencyMode(false);
    expect(t.lookup(keyOf({ inPort: 1 }))).toBeUndefined();
    expect(t.emergencyCount).toBe(1);
  });

  it("MODIFY and DELETE with the EMERG flag act on the emergency table only (reference switch)", () => {
    const t = new OfTable({ clock: () => 0 });
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), cookie: 1n }));
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), cookie: 2n, flags: OFPFF.EMERG }));
    t.applyFlowMod(
      flowMod({ match: matchOf({}), command: OFPFC.MODIFY, flags: OFPFF.EMERG, cookie: 5n }),
    );
    expect(t.flowStats(matchOf({}), 0, OFPP.NONE).map((s) => s.cookie)).toEqual([1n]);
    expect(t.flowStats(matchOf({}), OFPTT.EMERG, OFPP.NONE).map((s) => s.cookie)).toEqual([5n]);
    t.applyFlowMod(flowMod({ match: matchOf({}), command: OFPFC.DELETE, flags: OFPFF.EMERG }));
    expect([t.activeCount, t.emergencyCount]).toEqual([1, 0]);
  });

  it("after a delete of all flows (no EMERG, all wildcards, out_port NONE) no entry of any kind remains", () => {
    const t = new OfTable({ clock: () => 0 });
    const flags = OFPFF.SEND_FLOW_REM;
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), cookie: 1n, flags }));
    t.applyFlowMod(flowMod({ match: matchOf({}), cookie: 2n, flags: flags | OFPFF.EMERG }));
    t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 3 }), cookie: 3n, flags: flags | OFPFF.EMERG }),
    );
    const r = t.applyFlowMod(flowMod({ match: matchOf({}), command: OFPFC.DELETE }));
    // Deleted emergency entries generate no FLOW_REMOVED (OF1.0 §4.6), even with SEND_FLOW_REM.
    expect(r.removed.map((x) => x.cookie)).toEqual([1n]);
    expect([t.activeCount, t.emergencyCount]).toEqual([0, 0]);
    expect(t.flowStats(matchOf({}), OFPTT.ALL, OFPP.NONE)).toEqual([]);
    expect(t.aggregateStats(matchOf({}), OFPTT.ALL, OFPP.NONE).flowCount).toBe(0);
  });

  it("a DELETE or DELETE_STRICT without EMERG for an emergency entry's match removes it", () => {
    const t = new OfTable({ clock: () => 0 });
    const emerg = (cookie: bigint) =>
      flowMod({ match: matchOf({ inPort: 2 }), priority: 7, cookie, flags: OFPFF.EMERG });
    t.applyFlowMod(emerg(1n));
    t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 2 }), priority: 7, command: OFPFC.DELETE_STRICT }),
    );
    expect(t.emergencyCount).toBe(0);
    t.applyFlowMod(emerg(2n));
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 2 }), command: OFPFC.DELETE }));
    expect(t.emergencyCount).toBe(0);
  });
});
