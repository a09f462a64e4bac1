// OF1.0 match semantics through the switch's translation (normalisation, then the flow table's
// mask and value words), and the match reported back rebuilt from those words.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EXACT_MASK } from "../../src/flowtable/rule-match.js";
import { OFP_VLAN_NONE, OFPFW } from "../../src/openflow/of10/constants.js";
import { normaliseMatch } from "../../src/openflow/of10/normalise.js";
import type { Match } from "../../src/openflow/of10/types.js";
import { reportedMatch, ruleMatchOf } from "../../src/switch/flow-match.js";
import {
  exactMatch,
  flowMod,
  ip,
  keyOf,
  matchOf,
  OfTable,
  type MatchFields,
  type PacketFields,
} from "./of-table.js";

/** Does a table holding only `fields` send `packet` to it? */
function hits(fields: MatchFields, packet: PacketFields): boolean {
  const t = new OfTable({ clock: () => 0 });
  t.applyFlowMod(flowMod({ match: matchOf(fields) }));
  return t.lookup(keyOf(packet)) !== undefined;
}

const tcp = { dlType: 0x0800, nwProto: 6 };

describe("OF1.0 match semantics", () => {
  it("a match that wildcards everything matches every packet", () => {
    expect(hits({}, { inPort: 7, dlType: 0x86dd })).toBe(true);
  });

  it("each of the 12 fields, when specified, must equal the packet's", () => {
    const full: PacketFields = {
      inPort: 3,
      dlSrc: "00:00:00:00:00:0a",
      dlDst: "00:00:00:00:00:0b",
      dlVlan: 5,
      dlVlanPcp: 2,
      dlType: 0x0800,
      nwTos: 0x20,
      nwProto: 17,
      nwSrc: ip("10.0.0.1"),
      nwDst: ip("10.0.0.2"),
      tpSrc: 53,
      tpDst: 5353,
    };
    const other: PacketFields = {
      inPort: 4,
      dlSrc: "00:00:00:00:00:0c",
      dlDst: "00:00:00:00:00:0d",
      dlVlan: 6,
      dlVlanPcp: 3,
      dlType: 0x0800,
      nwTos: 0x40,
      nwProto: 6,
      nwSrc: ip("10.0.0.9"),
      nwDst: ip("10.0.0.8"),
      tpSrc: 54,
      tpDst: 5354,
    };
    for (const f of Object.keys(full) as (keyof PacketFields)[]) {
      if (f === "dlType") continue;
      // Keep dl_type/nw_proto in the match so the field applies.
      const fields = { dlType: 0x0800, nwProto: 17, [f]: full[f] };
      expect(hits(fields, full), f).toBe(true);
      const changed = f === "nwProto" ? other : { ...full, [f]: other[f] };
      expect(hits(fields, changed), f).toBe(false);
    }
    expect(hits({ dlType: 0x0800 }, { dlType: 0x0806 })).toBe(false);
  });

  it("nw_src/nw_dst wildcard counts leave that many low bits unconsidered", () => {
    const m = { dlType: 0x0800, nwSrc: ip("10.1.2.0"), nwSrcBits: 8 };
    expect(hits(m, { dlType: 0x0800, nwSrc: ip("10.1.2.200") })).toBe(true);
    expect(hits(m, { dlType: 0x0800, nwSrc: ip("10.1.3.1") })).toBe(false);
    const d = { dlType: 0x0800, nwDst: ip("192.168.0.0"), nwDstBits: 16 };
    expect(hits(d, { dlType: 0x0800, nwDst: ip("192.168.77.1") })).toBe(true);
    expect(hits(d, { dlType: 0x0800, nwDst: ip("192.169.0.1") })).toBe(false);
  });

  it("a nw_src/nw_dst wildcard count of 32 or more matches any address and is reported as 32", () => {
    for (const bits of [32, 33, 63]) {
      const m = {
        dlType: 0x0800,
        nwSrc: ip("1.2.3.4"),
        nwSrcBits: bits,
        nwDst: 7,
        nwDstBits: bits,
      };
      expect(hits(m, { dlType: 0x0800, nwSrc: ip("9.9.9.9"), nwDst: 1 })).toBe(true);
      const w = normaliseMatch(matchOf(m)).match.wildcards;
      expect((w & OFPFW.NW_SRC_MASK) >>> OFPFW.NW_SRC_SHIFT).toBe(32);
      expect((w & OFPFW.NW_DST_MASK) >>> OFPFW.NW_DST_SHIFT).toBe(32);
    }
  });

  it("dl_vlan 0xffff matches only untagged packets, whatever dl_vlan_pcp says; reported as OVS: pcp not wildcarded, 0", () => {
    const m = { dlVlan: OFP_VLAN_NONE, dlVlanPcp: 5 };
    expect(hits(m, {})).toBe(true);
    expect(hits(m, { dlVlan: 10, dlVlanPcp: 5 })).toBe(false);
    const reported = normaliseMatch(matchOf(m)).match;
    expect([reported.wildcards & OFPFW.DL_VLAN_PCP, reported.dlVlanPcp]).toEqual([0, 0]);
    // Also when the FLOW_MOD wildcarded the pcp: untagged means the whole TCI is matched.
    const wild = normaliseMatch({
      ...matchOf(m),
      wildcards: matchOf(m).wildcards | OFPFW.DL_VLAN_PCP,
    });
    expect(wild.match.wildcards & OFPFW.DL_VLAN_PCP).toBe(0);
  });

  it("dl_vlan_pcp without dl_vlan matches tagged packets only (as OVS: CFI required)", () => {
    const m = { dlVlanPcp: 3 }; // matchOf leaves dl_vlan wildcarded
    expect(hits(m, { dlVlan: 10, dlVlanPcp: 3 })).toBe(true);
    expect(hits(m, { dlVlan: 0, dlVlanPcp: 3 })).toBe(true);
    expect(hits(m, { dlVlan: 10, dlVlanPcp: 4 })).toBe(false);
    expect(hits(m, {})).toBe(false); // untagged: pcp reads as 0 in the key, yet no match
    expect(hits({ dlVlanPcp: 0 }, {})).toBe(false);
  });

  it("ARP opcode matches in nw_proto and ARP sender/target IPs in nw_src/nw_dst", () => {
    const m = { dlType: 0x0806, nwProto: 1, nwSrc: ip("10.0.0.1"), nwDst: ip("10.0.0.2") };
    const request = { dlType: 0x0806, nwProto: 1, nwSrc: ip("10.0.0.1"), nwDst: ip("10.0.0.2") };
    expect(hits(m, request)).toBe(true);
    expect(hits(m, { ...request, nwProto: 2 })).toBe(false);
    expect(hits(m, { ...request, nwDst: ip("10.0.0.3") })).toBe(false);
  });

  it("ICMP type and code match in tp_src and tp_dst", () => {
    const m = { dlType: 0x0800, nwProto: 1, tpSrc: 8, tpDst: 0 };
    expect(hits(m, { dlType: 0x0800, nwProto: 1, tpSrc: 8, tpDst: 0 })).toBe(true);
    expect(hits(m, { dlType: 0x0800, nwProto: 1, tpSrc: 0, tpDst: 0 })).toBe(false);
  });

  it("wildcarding dl_type leaves every L3/L4 field unconsidered (OVS normalisation)", () => {
    const m = { nwProto: 6, nwSrc: ip("1.1.1.1"), nwTos: 0x20, tpSrc: 80 };
    expect(hits(m, { dlType: 0x0800, nwProto: 17, nwSrc: ip("2.2.2.2"), tpSrc: 9 })).toBe(true);
    const n = normaliseMatch(matchOf(m)).match;
    // As Open vSwitch sends a match-all: prefix counts of exactly 32.
    expect(n.wildcards).toBe(0x3820ff);
    expect([n.nwProto, n.nwSrc, n.nwTos, n.tpSrc]).toEqual([0, 0, 0, 0]);
  });

  it("nw_src and nw_dst are unconsidered unless dl_type is IPv4, ARP or RARP", () => {
    const m = { dlType: 0x86dd, nwSrc: ip("1.1.1.1"), nwDst: ip("2.2.2.2") };
    expect(hits(m, { dlType: 0x86dd })).toBe(true);
    const rarp = { dlType: 0x8035, nwProto: 3, nwSrc: ip("1.1.1.1") };
    expect(hits(rarp, { ...rarp, nwProto: 4 })).toBe(false);
    expect(hits(rarp, { ...rarp, nwSrc: ip("1.1.1.2") })).toBe(false);
  });

  it("IPv6 (as Open vSwitch) considers nw_tos (traffic class DSCP), nw_proto and TCP/UDP/SCTP ports or ICMPv6 type/code", () => {
    const tcp6 = { dlType: 0x86dd, nwProto: 6, nwTos: 0x20, tpSrc: 1, tpDst: 80 };
    expect(hits(tcp6, tcp6)).toBe(true);
    expect(hits(tcp6, { ...tcp6, tpDst: 81 })).toBe(false);
    expect(hits(tcp6, { ...tcp6, nwTos: 0x24 })).toBe(false);
    expect(hits(tcp6, { ...tcp6, nwProto: 17 })).toBe(false);
    const icmp6 = { dlType: 0x86dd, nwProto: 58, tpSrc: 135, tpDst: 0 };
    expect(hits(icmp6, { ...icmp6, tpSrc: 136 })).toBe(false);
    // ICMP's number means nothing under IPv6: no ports.
    const proto1 = { dlType: 0x86dd, nwProto: 1, tpSrc: 8 };
    expect(hits(proto1, { ...proto1, tpSrc: 0 })).toBe(true);
  });

  it("SCTP ports are considered over IPv4 (as Open vSwitch)", () => {
    const sctp = { dlType: 0x0800, nwProto: 132, tpSrc: 5000, tpDst: 38412 };
    expect(hits(sctp, sctp)).toBe(true);
    expect(hits(sctp, { ...sctp, tpDst: 38413 })).toBe(false);
  });

  it("nw_tos is considered only for IPv4, and only its DSCP bits", () => {
    expect(hits({ dlType: 0x0806, nwTos: 0x20 }, { dlType: 0x0806 })).toBe(true);
    expect(hits({ dlType: 0x0800, nwTos: 0x20 }, { dlType: 0x0800, nwTos: 0x21 })).toBe(true);
    expect(hits({ dlType: 0x0800, nwTos: 0x20 }, { dlType: 0x0800, nwTos: 0x24 })).toBe(false);
  });

  it("tp_* are unconsidered unless nw_proto is TCP, UDP or ICMP with dl_type IPv4", () => {
    expect(hits({ dlType: 0x0800, nwProto: 47, tpSrc: 80 }, { dlType: 0x0800, nwProto: 47 })).toBe(
      true,
    );
    expect(hits({ dlType: 0x0800, tpDst: 80 }, { ...tcp, tpDst: 81 })).toBe(true);
    expect(hits({ dlType: 0x0806, nwProto: 6, tpDst: 80 }, { dlType: 0x0806, nwProto: 6 })).toBe(
      true,
    );
    expect(hits({ ...tcp, tpDst: 80 }, { ...tcp, tpDst: 81 })).toBe(false);
  });

  it("an entry specifying every field that applies is exact, even with non-applicable fields wildcarded", () => {
    const arp = { inPort: 1, dlType: 0x0806, nwProto: 1, nwSrc: 1, nwDst: 2 };
    const viaWildcardsMatch = {
      ...exactMatch(arp),
      wildcards: OFPFW.TP_SRC | OFPFW.TP_DST | OFPFW.NW_TOS,
    };
    const viaZeroMatch = exactMatch({ ...arp, tpSrc: 99, nwTos: 0x40 });
    const viaWildcards = ruleMatchOf(viaWildcardsMatch);
    const viaZero = ruleMatchOf(viaZeroMatch);
    expect(viaWildcards.exact).toBe(true);
    expect(viaZero.exact).toBe(true);
    expect(viaWildcards.value).toEqual(viaZero.value);
    expect(viaWildcards.mask).toBe(EXACT_MASK);
    expect(normaliseMatch(viaZeroMatch)).toEqual(normaliseMatch(viaWildcardsMatch));
  });

  it("the normalised match zeroes wildcarded field values and masks prefixes", () => {
    const raw = {
      ...exactMatch({
        inPort: 5,
        dlSrc: "AA:BB:CC:DD:EE:FF",
        dlType: 0x0800,
        nwSrc: ip("10.1.2.3"),
      }),
      wildcards: OFPFW.IN_PORT | (8 << OFPFW.NW_SRC_SHIFT),
    };
    const n = normaliseMatch(raw).match;
    expect(n.inPort).toBe(0);
    expect(n.dlSrc).toBe("aa:bb:cc:dd:ee:ff");
    expect(n.nwSrc).toBe(ip("10.1.2.0"));
  });

  it("MAC addresses match case-insensitively, are reported lower-case, and garbage reads as zero", () => {
    const upper = matchOf({ dlSrc: "AA:BB:CC:DD:EE:0F" });
    expect(normaliseMatch(upper).match.dlSrc).toBe("aa:bb:cc:dd:ee:0f");
    expect(hits({ dlSrc: "AA:BB:CC:DD:EE:0F" }, { dlSrc: "aa:bb:cc:dd:ee:0f" })).toBe(true);
    for (const bad of ["", "zz:bb:cc:dd:ee:ff", "aa-bb-cc-dd-ee-ff", "aa:bb:cc"]) {
      expect(normaliseMatch(matchOf({ dlDst: bad })).match.dlDst).toBe("00:00:00:00:00:00");
    }
  });
});

const hexByte = fc.integer({ min: 0, max: 255 }).map((b) => b.toString(16).padStart(2, "0"));
const macArb: fc.Arbitrary<string> = fc.oneof(
  fc.array(hexByte, { minLength: 6, maxLength: 6 }).map((b) => b.join(":")),
  fc.array(hexByte, { minLength: 6, maxLength: 6 }).map((b) => b.join(":").toUpperCase()),
  fc.constantFrom("", "zz:bb:cc:dd:ee:ff", "aa:bb:cc"),
);
const u = (bits: number): fc.Arbitrary<number> =>
  fc.integer({ min: 0, max: 2 ** bits - 1 }).map((n) => n >>> 0);

/** Any match a controller could send: any wildcard bits (prefix counts up to 63), any values,
 * with dl_type / nw_proto / dl_vlan often ones that make other fields apply. */
const anyMatchArb: fc.Arbitrary<Match> = fc.record({
  wildcards: fc.oneof(u(32), u(22), fc.constant(0)),
  inPort: u(16),
  dlSrc: macArb,
  dlDst: macArb,
  dlVlan: fc.oneof(u(16), fc.constantFrom(OFP_VLAN_NONE, 0, 5)),
  dlVlanPcp: u(8),
  dlType: fc.oneof(u(16), fc.constantFrom(0x0800, 0x0806, 0x86dd)),
  nwTos: u(8),
  nwProto: fc.oneof(u(8), fc.constantFrom(1, 6, 17)),
  nwSrc: u(32),
  nwDst: u(32),
  tpSrc: u(16),
  tpDst: u(16),
});

describe("the match an entry reports", () => {
  it("is the normalised match it was added with, rebuilt from its mask and value words", () => {
    fc.assert(
      fc.property(anyMatchArb, (m) => {
        const rule = ruleMatchOf(m);
        expect(reportedMatch(rule)).toEqual(normaliseMatch(m).match);
        // The words are a fixed point: the reported match gives the same rule again.
        const again = ruleMatchOf(reportedMatch(rule));
        expect([again.mask, again.value, again.exact]).toEqual([rule.mask, rule.value, rule.exact]);
      }),
      { numRuns: 3000 },
    );
  });
});
