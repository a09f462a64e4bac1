// The flow table in its own terms: rules over key words with opaque actions (here, port lists);
// add / modify / delete with strictness, overlap, limits, the emergency table, selections.
// What OF1.0 FLOW_MODs make of these is tested in test/switch.
import { describe, expect, it } from "vitest";
import { FlowTable } from "../../src/flowtable/flow-table.js";
import { EXACT_MASK, ruleMatch } from "../../src/flowtable/rule-match.js";
import {
  exactOn,
  ip,
  TCP_PACKET,
  keyOf,
  matchOn,
  outputsTo,
  rule,
  type Ports,
  type RuleFields,
} from "./helpers.js";

const pkt = TCP_PACKET;
const table = (maxEntries?: number): FlowTable<Ports> =>
  new FlowTable<Ports>({ clock: () => 0, maxEntries });
const all = { match: matchOn({}), tables: "both" } as const;
const cookies = (t: FlowTable<Ports>, f: RuleFields = {}): bigint[] =>
  t.select({ match: matchOn(f), tables: "both" }).map((e) => e.cookie);

describe("rule matches", () => {
  it("clear value bits outside the mask and share the exact mask", () => {
    const m = ruleMatch(
      Int32Array.of(0xffff0000, 0, 0, 0, 0, 0, 0, 0, -1),
      new Int32Array(9).fill(-1),
    );
    expect([...m.value]).toEqual([0xffff0000 | 0, 0, 0, 0, 0, 0, 0, 0, -1]);
    expect(m.exact).toBe(false);
    const e = exactOn(pkt);
    expect(e.exact).toBe(true);
    expect(e.mask).toBe(EXACT_MASK);
    // Every key bit but ECN: a rule that also masks the ECN bits is not exact.
    expect(ruleMatch(new Int32Array(9).fill(-1), new Int32Array(9)).exact).toBe(false);
    expect(() => ruleMatch(new Int32Array(8), new Int32Array(9))).toThrow(RangeError);
  });
});

describe("lookup precedence", () => {
  it("an exact rule beats any other whatever its priority, and keeps the priority given", () => {
    const t = table();
    t.add(rule(exactOn(pkt), { priority: 1, cookie: 1n }));
    t.add(rule(matchOn({ inPort: 1 }), { priority: 0xffff, cookie: 2n }));
    const e = t.lookup(keyOf(pkt));
    expect([e?.cookie, e?.priority, e?.exact]).toEqual([1n, 1, true]);
    expect(t.select(all).map((x) => x.priority)).toEqual([1, 0xffff]);
  });

  it("among matching non-exact rules the highest priority wins; equal priorities: the oldest", () => {
    const t = table();
    t.add(rule(matchOn({ inPort: 1 }), { priority: 10, cookie: 1n }));
    t.add(rule(matchOn({ dlType: 0x0800 }), { priority: 30, cookie: 2n }));
    t.add(rule(matchOn({ nwProto: 6 }), { priority: 30, cookie: 3n }));
    t.add(rule(matchOn({ tpDst: 80 }), { priority: 20, cookie: 4n }));
    expect(t.lookup(keyOf(pkt))?.cookie).toBe(2n);
  });

  it("prefix masks: the rule's leading address bits must match", () => {
    const t = table();
    t.add(rule(matchOn({ nwSrc: ip("10.0.0.0"), nwSrcLen: 24 })));
    expect(t.lookup(keyOf({ nwSrc: ip("10.0.0.77") }))).toBeDefined();
    expect(t.lookup(keyOf({ nwSrc: ip("10.0.1.1") }))).toBeUndefined();
  });

  it("a miss returns undefined and counts a lookup but no match", () => {
    const t = table();
    t.add(rule(matchOn({ inPort: 2 })));
    expect(t.lookup(keyOf(pkt))).toBeUndefined();
    t.lookup(keyOf({ inPort: 2 }));
    expect([t.lookupCount, t.matchedCount]).toEqual([2, 1]);
  });
});

describe("add", () => {
  it("a rule with the same match and priority replaces the entry: new actions and cookie, counters from zero, not reported as removed", () => {
    const t = table();
    const first = t.add(rule(matchOn({ inPort: 1 }), { priority: 5, cookie: 1n })).entry!;
    t.recordHit(first, 100);
    const second = t.add(rule(matchOn({ inPort: 1 }), { priority: 5, cookie: 2n, actions: [3] }));
    expect(t.activeCount).toBe(1);
    expect(first.removed).toBe(true);
    const [e] = t.select(all);
    expect([e.cookie, e.packets, e.bytes, e.actions]).toEqual([2n, 0, 0, [3]]);
    expect(t.lookup(keyOf(pkt))).toBe(second.entry);
  });

  it("the same match with another priority is a second entry; an exact rule replaces the exact entry of any priority", () => {
    const t = table();
    t.add(rule(matchOn({ inPort: 1 }), { priority: 5 }));
    t.add(rule(matchOn({ inPort: 1 }), { priority: 6 }));
    t.add(rule(exactOn(pkt), { priority: 5, cookie: 1n }));
    t.add(rule(exactOn(pkt), { priority: 6, cookie: 2n }));
    expect(t.activeCount).toBe(3);
    expect([t.lookup(keyOf(pkt))?.cookie, t.lookup(keyOf(pkt))?.priority]).toEqual([2n, 6]);
  });

  it("checkOverlap refuses a rule that shares a packet with an entry of the same priority", () => {
    const t = table();
    t.add(rule(matchOn({ inPort: 1 }), { priority: 5 }));
    const overlap = { priority: 5, checkOverlap: true };
    expect(t.add(rule(matchOn({ dlType: 0x800 }), overlap))).toEqual({ error: "overlap" });
    // An identical entry overlaps too.
    expect(t.add(rule(matchOn({ inPort: 1 }), overlap)).error).toBe("overlap");
    expect(t.add(rule(matchOn({ inPort: 2 }), overlap)).error).toBeUndefined();
    expect(t.add(rule(matchOn({ dlType: 0x800 }), { ...overlap, priority: 6 })).error).toBe(
      undefined,
    );
    expect(t.activeCount).toBe(3);
  });

  it("an exact rule overlaps the identical exact entry and the entries of its priority that match its packet, either way round (as Open vSwitch)", () => {
    const t = table();
    t.add(rule(matchOn({ inPort: 1 }), { priority: 0xffff }));
    t.add(rule(matchOn({ inPort: 2 }), { priority: 0xffff }));
    const exact = (f: Parameters<typeof exactOn>[0], priority = 0xffff) =>
      rule(exactOn(f), { checkOverlap: true, priority });
    expect(t.add(exact(pkt)).error).toBe("overlap"); // in_port=1 at 65535 matches it
    expect(t.add(exact({ ...pkt, inPort: 3 })).error).toBeUndefined();
    expect(t.add(exact({ ...pkt, inPort: 3 })).error).toBe("overlap"); // identical
    expect(t.add(exact(pkt, 7)).error).toBeUndefined(); // no entry of priority 7 matches it
    const wild = (priority: number) =>
      t.add(rule(matchOn({ dlType: 0x800 }), { checkOverlap: true, priority }));
    expect(wild(0xffff).error).toBe("overlap"); // the exact in_port=3 entry is such a packet
    expect(wild(0xfffe).error).toBeUndefined();
  });

  it("refuses a new entry when the table holds maxEntries; replacing one needs no room", () => {
    const t = table(2);
    t.add(rule(matchOn({ inPort: 1 })));
    t.add(rule(matchOn({ inPort: 2 })));
    expect(t.add(rule(matchOn({ inPort: 3 })))).toEqual({ error: "table-full" });
    expect(t.add(rule(matchOn({ inPort: 2 }))).error).toBeUndefined();
    // The emergency table has room of its own.
    expect(t.add(rule(matchOn({ inPort: 3 }), { emergency: true })).error).toBeUndefined();
    expect(t.maxEntries).toBe(2);
  });

  it("refuses an emergency rule with an idle or hard timeout", () => {
    const t = table();
    for (const to of [{ idleTimeout: 1 }, { hardTimeout: 1 }]) {
      expect(t.add(rule(matchOn({}), { emergency: true, ...to }))).toEqual({
        error: "emergency-timeout",
      });
    }
    expect(t.emergencyCount).toBe(0);
  });
});

describe("modify", () => {
  it("loose: every entry at least as specific as the match gets the new actions and cookie, counters kept; returned in precedence order", () => {
    const t = table();
    const a = t.add(rule(matchOn({ inPort: 1, dlType: 0x800 }), { cookie: 1n })).entry!;
    const b = t.add(rule(matchOn({ inPort: 1 }), { priority: 3, cookie: 2n })).entry!;
    const c = t.add(rule(matchOn({ inPort: 2 }), { cookie: 3n })).entry!;
    t.recordHit(a, 60);
    const got = t.modify({ match: matchOn({ inPort: 1 }), tables: "normal" }, [4], 9n);
    expect(got).toEqual([a, b]);
    expect([a.cookie, a.actions, a.packets, a.bytes]).toEqual([9n, [4], 1, 60]);
    expect([b.cookie, b.actions]).toEqual([9n, [4]]);
    expect([c.cookie, c.actions]).toEqual([3n, [1]]);
  });

  it("without a cookie the cookies stay", () => {
    const t = table();
    const a = t.add(rule(matchOn({ inPort: 1 }), { cookie: 1n })).entry!;
    t.modify({ match: matchOn({}), tables: "normal" }, [7]);
    expect([a.cookie, a.actions]).toEqual([1n, [7]]);
  });

  it("strict: only the entry with identical match and priority", () => {
    const t = table();
    const a = t.add(rule(matchOn({ inPort: 1 }), { priority: 3 })).entry!;
    const b = t.add(rule(matchOn({ inPort: 1 }), { priority: 4 })).entry!;
    const c = t.add(rule(matchOn({ inPort: 1, dlType: 0x800 }), { priority: 3 })).entry!;
    const sel = { match: matchOn({ inPort: 1 }), tables: "normal", strict: true } as const;
    expect(t.modify({ ...sel, priority: 3 }, [7])).toEqual([a]);
    expect([a.actions, b.actions, c.actions]).toEqual([[7], [1], [1]]);
    expect(t.modify({ ...sel, priority: 9 }, [8])).toEqual([]);
  });

  it("selecting nothing changes and adds nothing", () => {
    const t = table();
    expect(t.modify({ match: matchOn({ inPort: 1 }), tables: "both" }, [2], 4n)).toEqual([]);
    expect(t.activeCount).toBe(0);
  });

  it("acts on the tables chosen", () => {
    const t = table();
    const n = t.add(rule(matchOn({ inPort: 1 }), { cookie: 1n })).entry!;
    const e = t.add(rule(matchOn({ inPort: 1 }), { cookie: 2n, emergency: true })).entry!;
    t.modify({ match: matchOn({}), tables: "emergency" }, [5], 5n);
    expect([n.cookie, e.cookie]).toEqual([1n, 5n]);
  });

  it("clears the datapath's compiled form of the old actions", () => {
    const t = table();
    const e = t.add(rule(matchOn({ inPort: 1 }))).entry!;
    e.compiled = { compiledFor: e.actions };
    t.modify({ match: matchOn({ inPort: 1 }), tables: "normal" }, []);
    expect(e.compiled).toBeUndefined();
  });
});

describe("delete", () => {
  it("loose: every entry at least as specific as the match, whatever the priority", () => {
    const t = table();
    t.add(rule(matchOn({ inPort: 1, dlType: 0x800 }), { priority: 1, cookie: 1n }));
    t.add(rule(exactOn(pkt), { priority: 2, cookie: 2n }));
    t.add(rule(matchOn({ dlType: 0x800 }), { priority: 3, cookie: 3n }));
    t.add(rule(matchOn({ inPort: 2 }), { priority: 4, cookie: 4n }));
    const removed = t.delete({ match: matchOn({ inPort: 1 }), tables: "normal" });
    expect(removed.map((r) => [r.entry.cookie, r.reason])).toEqual([
      [2n, "delete"],
      [1n, "delete"],
    ]);
    expect(removed.every((r) => r.entry.removed)).toBe(true);
    expect(cookies(t)).toEqual([4n, 3n]);
    expect(t.lookup(keyOf(pkt))?.cookie).toBe(3n);
  });

  it("strict: only the entry with identical match and priority", () => {
    const t = table();
    t.add(rule(matchOn({ inPort: 1 }), { priority: 3, cookie: 1n }));
    t.add(rule(matchOn({ inPort: 1 }), { priority: 4, cookie: 2n }));
    t.add(rule(matchOn({ inPort: 1, dlType: 0x800 }), { priority: 3, cookie: 3n }));
    const sel = { match: matchOn({ inPort: 1 }), tables: "normal", strict: true } as const;
    expect(t.delete({ ...sel, priority: 3 }).map((r) => r.entry.cookie)).toEqual([1n]);
    expect(cookies(t)).toEqual([2n, 3n]);
  });

  it("`where` keeps only the entries whose actions pass", () => {
    const t = table();
    t.add(rule(matchOn({ inPort: 1 }), { actions: [2, 3], cookie: 1n }));
    t.add(rule(matchOn({ inPort: 2 }), { actions: [2], cookie: 2n }));
    t.add(rule(matchOn({ inPort: 3 }), { actions: [], cookie: 3n }));
    t.delete({ ...all, where: outputsTo(3) });
    expect(cookies(t)).toEqual([2n, 3n]);
  });

  it("in both tables: normal entries first, then emergency ones; the timeouts go with them", () => {
    const t = table();
    t.add(rule(matchOn({ inPort: 1 }), { cookie: 1n, idleTimeout: 60 }));
    t.add(rule(matchOn({}), { cookie: 2n, emergency: true }));
    t.add(rule(matchOn({ inPort: 3 }), { cookie: 3n }));
    const removed = t.delete(all);
    expect(removed.map((r) => [r.entry.cookie, r.entry.emergency])).toEqual([
      [1n, false],
      [3n, false],
      [2n, true],
    ]);
    expect([t.activeCount, t.emergencyCount]).toEqual([0, 0]);
    expect(t.nextExpiryMs()).toBeUndefined();
  });

  it("an emptied table misses everything", () => {
    const t = table();
    for (let p = 1; p <= 5; p++) t.add(rule(matchOn({ inPort: p })));
    t.delete(all);
    expect(t.activeCount).toBe(0);
    expect(t.lookup(keyOf({ inPort: 1 }))).toBeUndefined();
  });
});

describe("selections and aggregates", () => {
  function populated(): FlowTable<Ports> {
    const t = table(100);
    const a = t.add(rule(matchOn({ inPort: 1, dlType: 0x800 }), { cookie: 1n })).entry!;
    const b = t.add(rule(matchOn({ inPort: 1 }), { actions: [3], cookie: 2n })).entry!;
    t.add(rule(matchOn({ inPort: 2 }), { cookie: 3n }));
    t.add(rule(matchOn({ inPort: 1 }), { cookie: 4n, emergency: true }));
    t.recordHit(a, 100);
    t.recordHit(a, 50);
    t.recordHit(b, 7);
    return t;
  }

  it("select: entries at least as specific as the match, in the tables chosen, filtered by `where`", () => {
    const t = populated();
    const sel = (f: RuleFields, tables: "normal" | "emergency" | "both", port?: number) =>
      t
        .select({
          match: matchOn(f),
          tables,
          where: port === undefined ? undefined : outputsTo(port),
        })
        .map((e) => e.cookie);
    expect(sel({ inPort: 1 }, "normal")).toEqual([1n, 2n]);
    expect(sel({ inPort: 1, dlType: 0x800 }, "normal")).toEqual([1n]);
    expect(sel({}, "normal", 3)).toEqual([2n]);
    expect(sel({}, "both")).toEqual([1n, 2n, 3n, 4n]);
    expect(sel({}, "emergency")).toEqual([4n]);
  });

  it("aggregate: packets, bytes and entries summed over the selection", () => {
    const t = populated();
    expect(t.aggregate({ match: matchOn({ inPort: 1 }), tables: "normal" })).toEqual({
      packets: 3,
      bytes: 157,
      flows: 2,
    });
    expect(t.aggregate(all).flows).toBe(4);
  });

  it("a selection is a snapshot: entries deleted afterwards are marked removed", () => {
    const t = populated();
    const snapshot = t.select(all);
    t.delete({ match: matchOn({ inPort: 1 }), tables: "normal" });
    expect(snapshot.map((e) => e.removed)).toEqual([true, true, false, false]);
  });
});

describe("emergency mode", () => {
  it("emergency entries serve lookups only in emergency mode; entering it deletes every normal entry", () => {
    const t = table();
    t.add(rule(matchOn({ inPort: 1 }), { cookie: 1n, priority: 9 }));
    t.add(rule(matchOn({ inPort: 9 }), { cookie: 0n, priority: 8 }));
    t.add(rule(matchOn({ inPort: 2 }), { cookie: 2n }));
    t.add(rule(matchOn({}), { cookie: 3n, emergency: true }));
    expect(t.lookup(keyOf({ inPort: 1 }))?.cookie).toBe(1n);
    expect(t.lookup(keyOf({ inPort: 5 }))).toBeUndefined();
    const removed = t.setEmergencyMode(true);
    // In precedence order.
    expect(removed.map((r) => [r.entry.cookie, r.reason])).toEqual([
      [2n, "delete"],
      [1n, "delete"],
      [0n, "delete"],
    ]);
    expect([t.activeCount, t.inEmergencyMode]).toEqual([0, true]);
    expect(t.lookup(keyOf({ inPort: 1 }))?.cookie).toBe(3n);
    expect(t.setEmergencyMode(true)).toEqual([]);
    expect(t.setEmergencyMode(false)).toEqual([]);
    expect(t.lookup(keyOf({ inPort: 1 }))).toBeUndefined();
    expect(t.emergencyCount).toBe(1);
  });
});
