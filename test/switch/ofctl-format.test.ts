// Matches and actions written as ovs-ofctl writes them: each case is a FLOW_MOD (default
// priority, so ovs-ofctl prints no priority) whose `ovs-ofctl ofp-print` rendering must read
// "ADD <our match> actions=<our actions>".
import { describe, expect, it } from "vitest";
import { encodeMessage } from "../../src/openflow/of10/codec.js";
import { OFPAT, OFPFW, OFPP } from "../../src/openflow/of10/constants.js";
import type { Action, Match } from "../../src/openflow/of10/types.js";
import { ipv4FromString } from "../../src/openflow/wire.js";
import { formatActions, formatMatch } from "../../src/switch/ofctl-format.js";
import { MATCH_ALL, flowMod } from "../openflow/helpers.js";
import { haveOvsOfctl, ofpPrint } from "../openflow/ofp-print.js";
import { skipWithout } from "../support/prereq.js";

/** A match with only `fields` exact (the rest wildcarded), nw prefixes given as lengths. */
function match(fields: Partial<Match>, exact: number, nwSrcLen = 0, nwDstLen = 0): Match {
  const wildcards =
    (OFPFW.ALL & ~exact & ~OFPFW.NW_SRC_MASK & ~OFPFW.NW_DST_MASK) |
    ((32 - nwSrcLen) << OFPFW.NW_SRC_SHIFT) |
    ((32 - nwDstLen) << OFPFW.NW_DST_SHIFT);
  return { ...MATCH_ALL, ...fields, wildcards };
}

const ip = ipv4FromString;
const W_TYPE_PROTO = OFPFW.DL_TYPE | OFPFW.NW_PROTO;
const W_PORTS = OFPFW.TP_SRC | OFPFW.TP_DST;
const out = (port: number, maxLen = 0): Action => ({ type: OFPAT.OUTPUT, port, maxLen });

const CASES: [string, Match, Action[]][] = [
  ["everything wildcarded, no actions", MATCH_ALL, []],
  [
    "tcp, all fields",
    match(
      {
        inPort: 1,
        dlSrc: "00:11:22:33:44:55",
        dlDst: "66:77:88:99:aa:bb",
        dlVlan: 10,
        dlVlanPcp: 3,
        dlType: 0x0800,
        nwTos: 32,
        nwProto: 6,
        nwSrc: ip("10.0.0.1"),
        nwDst: ip("10.0.0.2"),
        tpSrc: 1234,
        tpDst: 80,
      },
      OFPFW.ALL & ~OFPFW.NW_SRC_MASK & ~OFPFW.NW_DST_MASK,
      32,
      32,
    ),
    [{ type: OFPAT.SET_NW_DST, nwAddr: ip("10.0.0.9") }, out(2)],
  ],
  [
    "udp with prefixes",
    match(
      { dlType: 0x0800, nwProto: 17, nwSrc: ip("192.168.1.0"), nwDst: ip("10.0.0.0"), tpDst: 53 },
      OFPFW.DL_TYPE | OFPFW.NW_PROTO | OFPFW.TP_DST,
      24,
      8,
    ),
    [out(OFPP.FLOOD)],
  ],
  [
    "icmp type and code",
    match(
      { dlType: 0x0800, nwProto: 1, tpSrc: 8, tpDst: 0 },
      OFPFW.DL_TYPE | OFPFW.NW_PROTO | OFPFW.TP_SRC | OFPFW.TP_DST,
    ),
    [out(OFPP.CONTROLLER, 128)],
  ],
  [
    "ip with another protocol",
    match({ dlType: 0x0800, nwProto: 47 }, OFPFW.DL_TYPE | OFPFW.NW_PROTO),
    [out(OFPP.ALL)],
  ],
  ["ip alone", match({ dlType: 0x0800 }, OFPFW.DL_TYPE), [out(OFPP.NORMAL)]],
  [
    "arp with addresses and opcode",
    match(
      { dlType: 0x0806, nwProto: 2, nwSrc: ip("10.0.0.1"), nwDst: ip("10.0.0.2") },
      OFPFW.DL_TYPE | OFPFW.NW_PROTO,
      32,
      32,
    ),
    [out(OFPP.IN_PORT)],
  ],
  [
    "another ethertype, untagged",
    match({ dlType: 0x88cc, dlVlan: 0xffff }, OFPFW.DL_TYPE | OFPFW.DL_VLAN),
    [out(OFPP.LOCAL)],
  ],
  [
    "vlan without pcp, every rewrite",
    match({ inPort: 3, dlVlan: 7 }, OFPFW.IN_PORT | OFPFW.DL_VLAN),
    [
      { type: OFPAT.SET_VLAN_VID, vlanVid: 100 },
      { type: OFPAT.SET_VLAN_PCP, vlanPcp: 5 },
      { type: OFPAT.STRIP_VLAN },
      { type: OFPAT.SET_DL_SRC, dlAddr: "0a:0b:0c:0d:0e:0f" },
      { type: OFPAT.SET_DL_DST, dlAddr: "fe:dc:ba:98:76:54" },
      { type: OFPAT.SET_NW_SRC, nwAddr: ip("172.16.0.9") },
      { type: OFPAT.SET_NW_TOS, nwTos: 72 },
      { type: OFPAT.SET_TP_SRC, tpPort: 4321 },
      { type: OFPAT.SET_TP_DST, tpPort: 8080 },
      { type: OFPAT.ENQUEUE, port: 3, queueId: 7 },
      out(OFPP.TABLE),
    ],
  ],
  [
    "sctp over IPv4 with ports",
    match({ dlType: 0x0800, nwProto: 132, tpSrc: 5000, tpDst: 38412 }, W_TYPE_PROTO | W_PORTS),
    [out(2)],
  ],
  [
    "rarp: opcode and addresses",
    match(
      { dlType: 0x8035, nwProto: 3, nwSrc: ip("10.0.0.1"), nwDst: ip("10.0.0.2") },
      W_TYPE_PROTO,
      32,
      32,
    ),
    [out(2)],
  ],
  [
    "tcp6: traffic class and ports",
    match(
      { dlType: 0x86dd, nwProto: 6, nwTos: 184, tpDst: 80 },
      W_TYPE_PROTO | OFPFW.NW_TOS | OFPFW.TP_DST,
    ),
    [out(2)],
  ],
  [
    "udp6",
    match({ dlType: 0x86dd, nwProto: 17, tpSrc: 53 }, W_TYPE_PROTO | OFPFW.TP_SRC),
    [out(2)],
  ],
  [
    "sctp6",
    match({ dlType: 0x86dd, nwProto: 132, tpDst: 9 }, W_TYPE_PROTO | OFPFW.TP_DST),
    [out(2)],
  ],
  [
    "icmp6 type and code",
    match({ dlType: 0x86dd, nwProto: 58, tpSrc: 135, tpDst: 0 }, W_TYPE_PROTO | W_PORTS),
    [out(2)],
  ],
  ["ipv6, another next header", match({ dlType: 0x86dd, nwProto: 44 }, W_TYPE_PROTO), [out(2)]],
  ["ipv6 only", match({ dlType: 0x86dd }, OFPFW.DL_TYPE), [out(2)]],
];

describe.skipIf(
  skipWithout(import.meta.url, haveOvsOfctl ? undefined : "ovs-ofctl is not installed"),
)("ovs-ofctl syntax for matches and actions", () => {
  for (const [name, m, actions] of CASES) {
    it(name, () => {
      const printed = ofpPrint(encodeMessage({ ...flowMod(actions, 1), match: m }));
      // OF1.0: an entry without wildcards outranks every other; OVS shows it as priority 65535.
      const ours = (m.wildcards === 0 ? "priority=65535," : "") + formatMatch(m);
      const expected = `ADD ${ours === "" ? "" : `${ours} `}actions=${formatActions(actions)}`;
      expect(printed.split("\n")[0]).toBe(`OFPT_FLOW_MOD (xid=0x1): ${expected}`);
    });
  }
});
