// FLOW_MODs through the switch's translation into the flow table, against the OF1.0 reference
// model (of10-table-model.ts) on random rule sets, random FLOW_MOD sequences and random packets:
// normalisation, the word layout, the classifier and the commands' semantics together. Value
// domains are tiny so rules overlap, tie and hit.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  OFP_VLAN_NONE,
  OFPFC,
  OFPFF,
  OFPFW,
  OFPP,
  OFPTT,
} from "../../src/openflow/of10/constants.js";
import type { FlowMod, Match } from "../../src/openflow/of10/types.js";
import { FlowKey } from "../../src/packet/flow-key.js";
import { flowMod, ip, keyOf, OfTable, output, type PacketFields } from "./of-table.js";
import { ModelTable } from "./of10-table-model.js";

const MACS = ["00:00:00:00:00:01", "00:00:00:00:00:02"];
const ADDRS = ["10.0.0.1", "10.0.0.2", "10.0.1.1", "192.168.0.1"].map(ip);
const DL_TYPES = [0x0800, 0x0806, 0x86dd];
const NW_PROTOS = [1, 2, 6, 17, 47];
const PORTS = [0, 8, 80, 443];

const packetArb: fc.Arbitrary<Required<PacketFields>> = fc
  .record({
    inPort: fc.integer({ min: 1, max: 3 }),
    dlSrc: fc.constantFrom(...MACS),
    dlDst: fc.constantFrom(...MACS),
    dlVlan: fc.constantFrom(OFP_VLAN_NONE, 1, 2),
    dlVlanPcp: fc.constantFrom(0, 1),
    dlType: fc.constantFrom(...DL_TYPES),
    nwTos: fc.constantFrom(0, 0x20, 0x21),
    nwProto: fc.constantFrom(...NW_PROTOS),
    nwSrc: fc.constantFrom(...ADDRS),
    nwDst: fc.constantFrom(...ADDRS),
    tpSrc: fc.constantFrom(...PORTS),
    tpDst: fc.constantFrom(...PORTS),
  })
  .map(asDatapathKey);

/** The datapath's convention: fields that do not apply to the packet are zero. */
function asDatapathKey(p: Required<PacketFields>): Required<PacketFields> {
  const ipv4 = p.dlType === 0x0800;
  const l3 = ipv4 || p.dlType === 0x0806;
  const ports = ipv4 && [1, 6, 17].includes(p.nwProto);
  return {
    ...p,
    dlVlanPcp: p.dlVlan === OFP_VLAN_NONE ? 0 : p.dlVlanPcp,
    nwTos: ipv4 ? p.nwTos : 0,
    nwProto: l3 ? p.nwProto : 0,
    nwSrc: l3 ? p.nwSrc : 0,
    nwDst: l3 ? p.nwDst : 0,
    tpSrc: ports ? p.tpSrc : 0,
    tpDst: ports ? p.tpDst : 0,
  };
}

/** A packet carrying a rule's field values, so exact and narrow rules get hit too. */
function packetFor(m: Match): Required<PacketFields> {
  const { wildcards: _wildcards, ...fields } = m;
  return asDatapathKey(fields);
}

/** Modify/delete commands mostly aim at an earlier rule's match (and priority) so they select. */
function aimed(mods: [FlowMod, number | null][]): FlowMod[] {
  return mods.map(([fm, reuse], i) => {
    if (reuse === null || i === 0 || fm.command === OFPFC.ADD) return fm;
    const target = mods[reuse % i][0];
    return { ...fm, match: target.match, priority: target.priority };
  });
}

const SIMPLE_BITS = [
  OFPFW.IN_PORT,
  OFPFW.DL_VLAN,
  OFPFW.DL_SRC,
  OFPFW.DL_DST,
  OFPFW.DL_TYPE,
  OFPFW.NW_PROTO,
  OFPFW.TP_SRC,
  OFPFW.TP_DST,
  OFPFW.DL_VLAN_PCP,
  OFPFW.NW_TOS,
];

/** Any field values (also in wildcarded fields: they must not matter), random wildcard bits. */
const matchArb: fc.Arbitrary<Match> = fc
  .record({
    exact: fc.nat(9),
    wildcarded: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
    srcBits: fc.constantFrom(0, 0, 8, 24, 32, 40),
    dstBits: fc.constantFrom(0, 0, 8, 24, 32, 63),
    fields: packetArb,
    nwTos: fc.constantFrom(0, 0x20, 0x23),
    nwProto: fc.constantFrom(...NW_PROTOS),
    tpSrc: fc.constantFrom(...PORTS),
  })
  .map(({ exact, wildcarded, srcBits, dstBits, fields, nwTos, nwProto, tpSrc }) => {
    let wildcards = 0;
    if (exact > 1) {
      SIMPLE_BITS.forEach((bit, i) => {
        if (wildcarded[i]) wildcards |= bit;
      });
      wildcards |= (srcBits << OFPFW.NW_SRC_SHIFT) | (dstBits << OFPFW.NW_DST_SHIFT);
    }
    return { ...fields, nwTos, nwProto, tpSrc, dlVlanPcp: fields.dlVlanPcp, wildcards };
  });

const flowModArb: fc.Arbitrary<FlowMod> = fc
  .record({
    match: matchArb,
    command: fc.constantFrom(
      OFPFC.ADD,
      OFPFC.ADD,
      OFPFC.ADD,
      OFPFC.MODIFY,
      OFPFC.MODIFY_STRICT,
      OFPFC.DELETE,
      OFPFC.DELETE_STRICT,
      9,
    ),
    priority: fc.constantFrom(1, 2, 0x8000),
    outPort: fc.constantFrom(OFPP.NONE, OFPP.NONE, 1, 2, 3),
    ports: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    sendFlowRem: fc.boolean(),
    checkOverlap: fc.nat(4).map((n) => n === 0),
    emerg: fc.nat(8).map((n) => n === 0),
    hardTimeout: fc.constantFrom(0, 0, 0, 30),
  })
  .map((r) =>
    flowMod({
      match: r.match,
      command: r.command,
      priority: r.priority,
      outPort: r.outPort,
      actions: r.ports.map(output),
      hardTimeout: r.hardTimeout,
      flags:
        (r.sendFlowRem ? OFPFF.SEND_FLOW_REM : 0) |
        (r.checkOverlap ? OFPFF.CHECK_OVERLAP : 0) |
        (r.emerg ? OFPFF.EMERG : 0),
    }),
  );

const key = new FlowKey();

function expectSameLookups(t: OfTable, model: ModelTable, packets: Required<PacketFields>[]): void {
  for (const p of packets) {
    const got = t.lookup(keyOf(p, key));
    const want = model.lookup(p);
    expect({ packet: p, cookie: got?.cookie, actions: got?.actions }).toEqual({
      packet: p,
      cookie: want?.cookie,
      actions: want?.actions,
    });
  }
}

describe("classifier agrees with the reference model", () => {
  it("on random rule sets (ADD only) and random packets: exact first, then priority, then oldest", () => {
    fc.assert(
      fc.property(
        fc.array(flowModArb, { maxLength: 40 }),
        fc.array(packetArb, { minLength: 1, maxLength: 40 }),
        (mods, randomPackets) => {
          const packets = [...randomPackets, ...mods.map((fm) => packetFor(fm.match))];
          const t = new OfTable({ clock: () => 0 });
          const model = new ModelTable(1_000_000);
          mods.forEach((fm, i) => {
            const add = { ...fm, command: OFPFC.ADD, flags: 0, cookie: BigInt(i) };
            t.applyFlowMod(add);
            model.apply(add);
          });
          expectSameLookups(t, model, packets);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("on random add/modify/modify_strict/delete/delete_strict sequences (with out_port, overlap checks, a table of 6)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(flowModArb, fc.option(fc.nat(), { freq: 3 })), {
          minLength: 5,
          maxLength: 40,
        }),
        fc.array(packetArb, { minLength: 1, maxLength: 20 }),
        matchArb,
        (aims, randomPackets, request) => {
          const t = new OfTable({ clock: () => 0, maxEntries: 6 });
          const model = new ModelTable(6);
          const mods = aimed(aims);
          const packets = [...randomPackets, ...mods.map((fm) => packetFor(fm.match))];
          mods.forEach((fm, i) => {
            const m = { ...fm, cookie: BigInt(i) };
            const got = t.applyFlowMod(m);
            const want = model.apply(m);
            expect({
              i,
              error: got.error?.code,
              removed: got.removed.map((r) => r.cookie),
            }).toEqual({
              i,
              error: want.error,
              removed: want.removedCookies,
            });
            // After every command, not only at the end: the exact-match cache in front of the
            // classifier must forget answers the command changed.
            expectSameLookups(t, model, packets);
          });
          const summary = (s: { cookie: bigint; priority: number; actions: unknown }): unknown => [
            s.cookie,
            s.priority,
            s.actions,
          ];
          for (const [tableId, emergency] of [
            [0, false],
            [OFPTT.EMERG, true],
          ] as const) {
            expect(t.flowStats(request, tableId, OFPP.NONE).map(summary)).toEqual(
              model.select(request, emergency, OFPP.NONE).map(summary),
            );
            expect(t.flowStats(request, tableId, 2).map(summary)).toEqual(
              model.select(request, emergency, 2).map(summary),
            );
          }
          expect(t.activeCount).toBe(model.entries.filter((e) => !e.emergency).length);
        },
      ),
      { numRuns: 400 },
    );
  });
});
