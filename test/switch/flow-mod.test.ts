// FLOW_MOD semantics (OF1.0 as Open vSwitch implements them) through the switch's translation
// into flow table operations (of-table.ts): commands, flags, strictness, out_port, the error
// codes and the FLOW_REMOVED bodies a controller gets.
import { describe, expect, it } from "vitest";
import {
  OFPET,
  OFPFC,
  OFPFF,
  OFPFMFC,
  OFPFW,
  OFPP,
  OFPRR,
} from "../../src/openflow/of10/constants.js";
import { exactMatch, flowMod, keyOf, matchOf, OfTable, output, TCP_PACKET } from "./of-table.js";

const pkt = TCP_PACKET;
const table = (): OfTable => new OfTable({ clock: () => 0 });
const failed = (code: number): { errType: number; code: number } => ({
  errType: OFPET.FLOW_MOD_FAILED,
  code,
});

describe("lookup precedence", () => {
  it("an exact-match entry beats any wildcard entry whatever its priority (OF1.0 §3.4)", () => {
    const t = table();
    t.applyFlowMod(flowMod({ match: exactMatch(pkt), priority: 1, cookie: 1n }));
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), priority: 0xffff, cookie: 2n }));
    const e = t.lookup(keyOf(pkt));
    expect([e?.cookie, e?.exact]).toEqual([1n, true]);
  });

  it("a FLOW_MOD whose OF1.0 wildcards are 0 acts with priority 65535 whatever it sent (as Open vSwitch and the reference switch)", () => {
    const t = table();
    t.applyFlowMod(flowMod({ match: exactMatch(pkt), priority: 1, cookie: 1n }));
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), priority: 7, cookie: 2n }));
    expect(t.flowStats(matchOf({}), 0, OFPP.NONE).map((s) => s.priority)).toEqual([0xffff, 7]);
    // Two exact ADDs with different priorities: one entry, the second replaces the first.
    t.applyFlowMod(flowMod({ match: exactMatch(pkt), priority: 9, cookie: 3n }));
    expect(t.activeCount).toBe(2);
    expect([t.lookup(keyOf(pkt))?.cookie, t.lookup(keyOf(pkt))?.priority]).toEqual([3n, 0xffff]);
    // MODIFY_STRICT and DELETE_STRICT with any priority reach it.
    t.applyFlowMod(
      flowMod({ match: exactMatch(pkt), command: OFPFC.MODIFY_STRICT, priority: 2, cookie: 4n }),
    );
    expect(t.activeCount).toBe(2);
    expect(t.lookup(keyOf(pkt))?.cookie).toBe(4n);
    t.applyFlowMod(flowMod({ match: exactMatch(pkt), command: OFPFC.DELETE_STRICT, priority: 3 }));
    expect(t.activeCount).toBe(1);
  });

  it("an entry that specifies every applicable field without wildcards 0 on the wire ranks by the priority it sent (as Open vSwitch)", () => {
    const t = table();
    // ARP: tp_* and nw_tos do not apply, so wildcarding them still specifies every field.
    const arpFields = { inPort: 1, dlType: 0x0806, nwProto: 1, nwSrc: 1, nwDst: 2 };
    const arp = { ...exactMatch(arpFields), wildcards: OFPFW.TP_SRC | OFPFW.TP_DST | OFPFW.NW_TOS };
    const arpPacket = keyOf(arpFields);
    t.applyFlowMod(flowMod({ match: arp, priority: 12, cookie: 1n }));
    t.applyFlowMod(flowMod({ match: arp, priority: 13, cookie: 2n }));
    // Two entries, each with its priority; the higher one wins.
    expect(t.flowStats(matchOf({}), 0, OFPP.NONE).map((s) => s.priority)).toEqual([13, 12]);
    expect(t.lookup(arpPacket)?.cookie).toBe(2n);
    // A wildcard entry of higher priority beats both.
    t.applyFlowMod(flowMod({ match: matchOf({ dlType: 0x0806 }), priority: 20, cookie: 3n }));
    expect(t.lookup(arpPacket)?.cookie).toBe(3n);
    // Strict commands need the priority.
    t.applyFlowMod(flowMod({ match: arp, command: OFPFC.DELETE_STRICT, priority: 14 }));
    expect(t.activeCount).toBe(3);
    t.applyFlowMod(flowMod({ match: arp, command: OFPFC.DELETE_STRICT, priority: 12 }));
    expect(t.flowStats(matchOf({}), 0, OFPP.NONE).map((s) => s.cookie)).toEqual([3n, 2n]);
    // The same match with wildcards 0 is another entry, at 65535, above them all.
    t.applyFlowMod(flowMod({ match: exactMatch(arpFields), priority: 7, cookie: 4n }));
    expect(t.lookup(arpPacket)).toMatchObject({ cookie: 4n, priority: 0xffff, exact: true });
    expect(t.activeCount).toBe(3);
  });

  it("among wildcard entries that match, the highest priority wins", () => {
    const t = table();
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), priority: 10, cookie: 1n }));
    t.applyFlowMod(flowMod({ match: matchOf({ dlType: 0x0800 }), priority: 30, cookie: 2n }));
    t.applyFlowMod(
      flowMod({ match: matchOf({ nwProto: 6, dlType: 0x0800 }), priority: 20, cookie: 3n }),
    );
    expect(t.lookup(keyOf(pkt))?.cookie).toBe(2n);
  });

  it("overlapping wildcard entries of equal priority (undefined in OF1.0): the one added first wins", () => {
    const t = table();
    t.applyFlowMod(
      flowMod({ match: matchOf({ tpDst: 80, dlType: 0x0800, nwProto: 6 }), cookie: 1n }),
    );
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), cookie: 2n }));
    expect(t.lookup(keyOf(pkt))?.cookie).toBe(1n);
    const u = table();
    u.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), cookie: 2n }));
    u.applyFlowMod(
      flowMod({ match: matchOf({ tpDst: 80, dlType: 0x0800, nwProto: 6 }), cookie: 1n }),
    );
    expect(u.lookup(keyOf(pkt))?.cookie).toBe(2n);
  });

  it("a table miss returns undefined and counts a lookup but no match", () => {
    const t = table();
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 2 }) }));
    expect(t.lookup(keyOf(pkt))).toBeUndefined();
    t.lookup(keyOf({ inPort: 2 }));
    const [s] = t.tableStats();
    expect([s.lookupCount, s.matchedCount]).toEqual([2n, 1n]);
  });
});

describe("FLOW_MOD ADD", () => {
  it("ADD with identical match and priority replaces the entry and resets its counters (OF1.0 §4.6)", () => {
    const t = table();
    const m = matchOf({ inPort: 1 });
    const first = t.applyFlowMod(flowMod({ match: m, priority: 5, cookie: 1n })).entry!;
    t.recordHit(first, 100);
    const second = t.applyFlowMod(
      flowMod({ match: m, priority: 5, cookie: 2n, actions: [output(3)] }),
    );
    expect(second.removed).toEqual([]);
    expect(t.activeCount).toBe(1);
    const [s] = t.flowStats(matchOf({}), 0, OFPP.NONE);
    expect([s.cookie, s.packetCount, s.byteCount, s.actions]).toEqual([2n, 0n, 0n, [output(3)]]);
    expect(t.lookup(keyOf(pkt))).toBe(second.entry);
  });

  it("ADD with the same match but another priority adds a second wildcard entry", () => {
    const t = table();
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), priority: 5 }));
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), priority: 6 }));
    expect(t.activeCount).toBe(2);
  });

  it("ADD of an exact match replaces the exact entry with that match whatever its priority", () => {
    const t = table();
    t.applyFlowMod(flowMod({ match: exactMatch(pkt), priority: 5, cookie: 1n }));
    t.applyFlowMod(flowMod({ match: exactMatch(pkt), priority: 6, cookie: 2n }));
    expect(t.activeCount).toBe(1);
    expect([t.lookup(keyOf(pkt))?.cookie, t.lookup(keyOf(pkt))?.priority]).toEqual([2n, 0xffff]);
  });

  it("ADD with CHECK_OVERLAP fails with OVERLAP when an entry of the same priority overlaps (OF1.0 §4.6)", () => {
    const t = table();
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), priority: 5 }));
    const r = t.applyFlowMod(
      flowMod({ match: matchOf({ dlType: 0x0800 }), priority: 5, flags: OFPFF.CHECK_OVERLAP }),
    );
    expect(r).toEqual({ error: failed(OFPFMFC.OVERLAP), removed: [] });
    expect(t.activeCount).toBe(1);
  });

  it("ADD with CHECK_OVERLAP: an exact-match entry (priority 65535) and a wildcard entry of priority 65535 that matches its packet overlap, either way round (as Open vSwitch)", () => {
    const ipOnly = matchOf({ dlType: 0x0800 });
    const overlapFlag = { flags: OFPFF.CHECK_OVERLAP };
    const t = table();
    t.applyFlowMod(flowMod({ match: ipOnly, priority: 0xffff }));
    expect(t.applyFlowMod(flowMod({ match: exactMatch(pkt), ...overlapFlag })).error).toEqual(
      failed(OFPFMFC.OVERLAP),
    );
    const u = table();
    u.applyFlowMod(flowMod({ match: exactMatch(pkt) }));
    expect(
      u.applyFlowMod(flowMod({ match: ipOnly, priority: 0xffff, ...overlapFlag })).error,
    ).toEqual(failed(OFPFMFC.OVERLAP));
    expect(
      u.applyFlowMod(flowMod({ match: ipOnly, priority: 0xfffe, ...overlapFlag })).error,
    ).toBeUndefined();
  });

  it("ADD with CHECK_OVERLAP succeeds when the overlapping entry has another priority or cannot share a packet", () => {
    const t = table();
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), priority: 5 }));
    const flags = OFPFF.CHECK_OVERLAP;
    expect(
      t.applyFlowMod(flowMod({ match: matchOf({ dlType: 0x800 }), priority: 6, flags })).error,
    ).toBeUndefined();
    expect(
      t.applyFlowMod(flowMod({ match: matchOf({ inPort: 2 }), priority: 5, flags })).error,
    ).toBeUndefined();
    expect(t.activeCount).toBe(3);
  });

  it("ADD fails with ALL_TABLES_FULL when the table already holds max_entries", () => {
    const t = new OfTable({ clock: () => 0, maxEntries: 2 });
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }) }));
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 2 }) }));
    expect(t.applyFlowMod(flowMod({ match: matchOf({ inPort: 3 }) })).error).toEqual(
      failed(OFPFMFC.ALL_TABLES_FULL),
    );
    // Replacing an entry does not need room.
    expect(t.applyFlowMod(flowMod({ match: matchOf({ inPort: 2 }) })).error).toBeUndefined();
    expect(t.tableStats()[0].maxEntries).toBe(2);
  });

  it("a command other than ADD/MODIFY/MODIFY_STRICT/DELETE/DELETE_STRICT fails with BAD_COMMAND", () => {
    expect(table().applyFlowMod(flowMod({ match: matchOf({}), command: 5 })).error).toEqual(
      failed(OFPFMFC.BAD_COMMAND),
    );
  });
});

describe("FLOW_MOD MODIFY", () => {
  it("MODIFY replaces actions and cookie of every entry its match covers, keeping counters (OF1.0 as OVS)", () => {
    const t = table();
    const a = t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 1, dlType: 0x800 }), cookie: 1n }),
    ).entry!;
    const b = t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 1 }), priority: 3, cookie: 2n }),
    ).entry!;
    const c = t.applyFlowMod(flowMod({ match: matchOf({ inPort: 2 }), cookie: 3n })).entry!;
    t.recordHit(a, 60);
    const r = t.applyFlowMod(
      flowMod({
        match: matchOf({ inPort: 1 }),
        command: OFPFC.MODIFY,
        cookie: 9n,
        actions: [output(4)],
      }),
    );
    expect(r.entry).toBe(a);
    expect([a.cookie, a.actions, a.packets, a.bytes]).toEqual([9n, [output(4)], 1, 60]);
    expect([b.cookie, b.actions]).toEqual([9n, [output(4)]]);
    expect([c.cookie, c.actions]).toEqual([3n, [output(1)]]);
  });

  it("MODIFY_STRICT changes only the entry with identical match and priority", () => {
    const t = table();
    const a = t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), priority: 3 })).entry!;
    const b = t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), priority: 4 })).entry!;
    const c = t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 1, dlType: 0x800 }), priority: 3 }),
    ).entry!;
    const strict = { command: OFPFC.MODIFY_STRICT, actions: [output(7)] };
    expect(
      t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), priority: 3, ...strict })).entry,
    ).toBe(a);
    expect([a.actions, b.actions, c.actions]).toEqual([[output(7)], [output(1)], [output(1)]]);
  });

  it("MODIFY or MODIFY_STRICT that matches nothing adds the flow (OF1.0 §4.6)", () => {
    for (const command of [OFPFC.MODIFY, OFPFC.MODIFY_STRICT]) {
      const t = table();
      const r = t.applyFlowMod(
        flowMod({ match: matchOf({ inPort: 1 }), command, cookie: 4n, idleTimeout: 9 }),
      );
      expect([r.entry?.cookie, r.entry?.idleTimeout, t.activeCount]).toEqual([4n, 9, 1]);
    }
  });

  it("changing an entry's actions clears the datapath's compiled form", () => {
    const t = table();
    const e = t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }) })).entry!;
    e.compiled = { compiledFor: e.actions };
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), command: OFPFC.MODIFY, actions: [] }));
    expect(e.compiled).toBeUndefined();
  });
});

describe("FLOW_MOD DELETE", () => {
  it("DELETE removes every entry at least as specific as its match, whatever the priority", () => {
    const t = table();
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1, dlType: 0x800 }), priority: 1 }));
    t.applyFlowMod(flowMod({ match: exactMatch(pkt), priority: 2 }));
    t.applyFlowMod(flowMod({ match: matchOf({ dlType: 0x800 }), priority: 3 }));
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 2 }), priority: 4 }));
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), command: OFPFC.DELETE }));
    expect(t.flowStats(matchOf({}), 0, OFPP.NONE).map((s) => s.priority)).toEqual([4, 3]);
  });

  it("DELETE with a match-all request empties the table", () => {
    const t = table();
    for (let p = 1; p <= 5; p++) t.applyFlowMod(flowMod({ match: matchOf({ inPort: p }) }));
    t.applyFlowMod(flowMod({ match: matchOf({}), command: OFPFC.DELETE }));
    expect(t.activeCount).toBe(0);
    expect(t.lookup(keyOf({ inPort: 1 }))).toBeUndefined();
  });

  it("DELETE with out_port removes only entries that have an output action to that port (OF1.0 §4.6)", () => {
    const t = table();
    t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 1 }), actions: [output(2), output(3)], cookie: 1n }),
    );
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 2 }), actions: [output(2)], cookie: 2n }));
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 3 }), actions: [], cookie: 3n }));
    t.applyFlowMod(flowMod({ match: matchOf({}), command: OFPFC.DELETE, outPort: 3 }));
    expect(t.flowStats(matchOf({}), 0, OFPP.NONE).map((s) => s.cookie)).toEqual([2n, 3n]);
    t.applyFlowMod(flowMod({ match: matchOf({}), command: OFPFC.DELETE_STRICT, outPort: 2 }));
    expect(t.activeCount).toBe(2);
  });

  it("DELETE_STRICT removes only the entry with identical match and priority", () => {
    const t = table();
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), priority: 3, cookie: 1n }));
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 1 }), priority: 4, cookie: 2n }));
    t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 1, dlType: 0x800 }), priority: 3, cookie: 3n }),
    );
    t.applyFlowMod(
      flowMod({ match: matchOf({ inPort: 1 }), priority: 3, command: OFPFC.DELETE_STRICT }),
    );
    expect(t.flowStats(matchOf({}), 0, OFPP.NONE).map((s) => s.cookie)).toEqual([2n, 3n]);
  });

  it("deleted entries are reported with reason DELETE only when they were added with SEND_FLOW_REM", () => {
    const clock = { ms: 0 };
    const t = new OfTable({ clock: () => clock.ms });
    t.applyFlowMod(
      flowMod({
        match: matchOf({ inPort: 1 }),
        cookie: 1n,
        flags: OFPFF.SEND_FLOW_REM,
        idleTimeout: 60,
      }),
    );
    t.applyFlowMod(flowMod({ match: matchOf({ inPort: 2 }), cookie: 2n }));
    clock.ms = 2500;
    const r = t.applyFlowMod(flowMod({ match: matchOf({}), command: OFPFC.DELETE }));
    expect(t.activeCount).toBe(0);
    expect(r.removed).toEqual([
      {
        match: matchOf({ inPort: 1 }),
        cookie: 1n,
        priority: 0x8000,
        reason: OFPRR.DELETE,
        durationSec: 2,
        durationNsec: 500_000_000,
        idleTimeout: 60,
        packetCount: 0n,
        byteCount: 0n,
      },
    ]);
    expect(t.nextExpiryMs()).toBeUndefined();
  });
});
