// OF1.0 match normalisation, pinned against Open vSwitch: each case is one FLOW_MOD ADD match,
// sent as raw wire fields (not through ovs-ofctl's parser, which would normalise first). The
// probe sends a case to any OpenFlow 1.0 switch and records what it reports back: the flow stats
// match, the FLOW_REMOVED match of a DELETE, and `ovs-ofctl dump-flows` text. The fixture
// (test/fixtures/of10-normalisation.json) holds Open vSwitch's answers; regenerate it with
// `node scripts/gen-of10-normalisation-fixtures.mjs` (after `npx tsc -p .`, as root).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  OFPFC,
  OFPFF,
  OFPFW,
  OFPP,
  OFPST,
  OFPT,
  OFP_NO_BUFFER,
} from "../../src/openflow/of10/constants.js";
import type { MessageOf } from "../../src/openflow/of10/messages.js";
import type { Match } from "../../src/openflow/of10/types.js";
import { ipv4FromString } from "../../src/openflow/wire.js";
import { MATCH_ALL } from "../openflow/helpers.js";
import { ControllerPeer } from "../switch/peer.js";
import { OvsNamespace } from "../controller/ovs-netns.js";

export interface NormalisationCase {
  name: string;
  /** Why the case is there: the rule it pins. */
  rule: string;
  match: Match;
}

/** What a switch reported for one case. */
export interface Reported {
  /** The flow stats entry's match, priority and table id. */
  stats: { match: Match; priority: number; tableId: number };
  /** The match of the FLOW_REMOVED a DELETE produced. */
  removed: Match;
  /** `ovs-ofctl -O OpenFlow10 -F openflow10 --no-stats dump-flows` for the entry, trimmed. */
  ofctl: string;
}

const W = OFPFW;
/** TCP 10.0.0.1:1234 -> 10.0.0.2:80 from port 1, untagged, every field given (wildcards 0). */
const EXACT_TCP: Match = {
  wildcards: 0,
  inPort: 1,
  dlSrc: "02:00:00:00:00:01",
  dlDst: "02:00:00:00:00:02",
  dlVlan: 0xffff,
  dlVlanPcp: 0,
  dlType: 0x0800,
  nwTos: 0,
  nwProto: 6,
  nwSrc: ipv4FromString("10.0.0.1"),
  nwDst: ipv4FromString("10.0.0.2"),
  tpSrc: 1234,
  tpDst: 80,
};
const exact = (fields: Partial<Match>): Match => ({ ...EXACT_TCP, ...fields });
const prefixes = (src: number, dst: number) => (src << W.NW_SRC_SHIFT) | (dst << W.NW_DST_SHIFT);
/** Every field given a nonzero value, to see which ones normalisation keeps. */
const NOISY: Partial<Match> = { nwTos: 0x2e, nwProto: 17, tpSrc: 7, tpDst: 9 };

export const NORMALISATION_CASES: NormalisationCase[] = [
  {
    name: "exact-untagged-tcp",
    rule: "untagged (dl_vlan 0xffff) all-exact reports wildcards 0",
    match: exact({}),
  },
  {
    name: "untagged-pcp-set",
    rule: "untagged with a pcp value: pcp not applicable",
    match: exact({ dlVlanPcp: 5 }),
  },
  {
    name: "untagged-pcp-wildcarded",
    rule: "untagged with OFPFW_DL_VLAN_PCP set",
    match: exact({ wildcards: W.DL_VLAN_PCP }),
  },
  { name: "tagged-exact", rule: "VLAN 10 PCP 3 exact", match: exact({ dlVlan: 10, dlVlanPcp: 3 }) },
  {
    name: "tagged-pcp-wildcarded",
    rule: "VLAN 10, any PCP",
    match: exact({ dlVlan: 10, wildcards: W.DL_VLAN_PCP }),
  },
  {
    name: "vlan-wildcarded-pcp-exact",
    rule: "any VLAN, PCP 3 (tagged frames only)",
    match: exact({ dlVlan: 77, dlVlanPcp: 3, wildcards: W.DL_VLAN }),
  },
  {
    name: "vlan-and-pcp-wildcarded",
    rule: "any VLAN or none",
    match: exact({ dlVlan: 77, dlVlanPcp: 3, wildcards: W.DL_VLAN | W.DL_VLAN_PCP }),
  },
  {
    name: "vlan-high-bits",
    rule: "dl_vlan 0x1234 keeps its 12-bit VID, pcp 9 its 3 bits",
    match: exact({ dlVlan: 0x1234, dlVlanPcp: 9 }),
  },
  {
    name: "vlan-zero",
    rule: "VLAN 0 (priority tag) is a VID, not untagged",
    match: exact({ dlVlan: 0, dlVlanPcp: 0 }),
  },
  {
    name: "match-all-noisy",
    rule: "all wildcarded: values zeroed, 0x3820ff reported",
    match: exact({ ...NOISY, wildcards: W.ALL }),
  },
  {
    name: "unknown-wildcard-bits",
    rule: "wildcard bits above 21 are ignored",
    match: exact({ wildcards: (0xffc00000 | W.TP_DST) >>> 0 }),
  },
  {
    name: "non-ip-with-l3-l4",
    rule: "nw_* and tp_* do not apply to 0x88b5",
    match: exact({ ...NOISY, dlType: 0x88b5 }),
  },
  {
    name: "dl-type-wildcarded",
    rule: "without dl_type nothing above L2 applies",
    match: exact({ ...NOISY, wildcards: W.DL_TYPE }),
  },
  {
    name: "ip-proto-wildcarded",
    rule: "IPv4 without nw_proto: tp_* do not apply",
    match: exact({ wildcards: W.NW_PROTO }),
  },
  { name: "ip-udp", rule: "UDP ports apply", match: exact({ nwProto: 17 }) },
  {
    name: "ip-icmp",
    rule: "ICMP type/code in tp_src/tp_dst",
    match: exact({ nwProto: 1, tpSrc: 8, tpDst: 0 }),
  },
  { name: "ip-sctp", rule: "SCTP ports apply (OVS)", match: exact({ nwProto: 132 }) },
  { name: "ip-gre", rule: "GRE has no ports", match: exact({ nwProto: 47 }) },
  { name: "ip-tos-ecn", rule: "nw_tos keeps the DSCP bits only", match: exact({ nwTos: 0xff }) },
  {
    name: "ip-prefixes",
    rule: "prefix wildcards mask the address bits",
    match: exact({
      nwSrc: ipv4FromString("10.1.2.77"),
      nwDst: ipv4FromString("10.9.8.7"),
      wildcards: prefixes(8, 31),
    }),
  },
  {
    name: "ip-prefix-counts-above-32",
    rule: "counts 33..63 mean all 32 bits",
    match: exact({ wildcards: prefixes(40, 63) }),
  },
  {
    name: "arp-all-fields",
    rule: "ARP: opcode in nw_proto, IPs in nw_src/dst; no tos, no ports",
    match: exact({ ...NOISY, dlType: 0x0806, nwProto: 1 }),
  },
  {
    name: "arp-opcode-wildcarded-prefix",
    rule: "ARP with a prefix and any opcode",
    match: exact({ dlType: 0x0806, nwProto: 2, wildcards: W.NW_PROTO | prefixes(8, 0) }),
  },
  {
    name: "rarp",
    rule: "RARP is treated as ARP (OVS)",
    match: exact({ ...NOISY, dlType: 0x8035, nwProto: 3 }),
  },
  {
    name: "ipv6",
    rule: "IPv6: OF1.0 fields that OVS keeps for 0x86dd",
    match: exact({ ...NOISY, dlType: 0x86dd, nwProto: 6 }),
  },
  { name: "mpls", rule: "MPLS: no L3/L4 fields", match: exact({ ...NOISY, dlType: 0x8847 }) },
  {
    name: "in-port-only",
    rule: "one field",
    match: exact({ ...NOISY, wildcards: W.ALL & ~W.IN_PORT }),
  },
  {
    name: "dl-addrs-only",
    rule: "MAC addresses only",
    match: exact({ wildcards: W.ALL & ~(W.DL_SRC | W.DL_DST) }),
  },
  {
    name: "tos-only-ip",
    rule: "IPv4 with only nw_tos",
    match: exact({ wildcards: W.ALL & ~(W.DL_TYPE | W.NW_TOS), nwTos: 0x11 }),
  },
];

function flowMod(
  command: number,
  match: Match,
  priority: number,
  flags = 0,
): MessageOf<typeof OFPT.FLOW_MOD> {
  return {
    type: OFPT.FLOW_MOD,
    xid: 0,
    match,
    cookie: 0x77n,
    command,
    idleTimeout: 0,
    hardTimeout: 0,
    priority,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.NONE,
    flags,
    actions: [{ type: 0, port: 2, maxLen: 0 }],
  };
}

/** ovs-ofctl's rendering of the flow table, one line per entry, trimmed. Asynchronous: the
 * switch may run in this process. */
async function ofctlDump(host: string, port: number): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    "ovs-ofctl",
    ["-O", "OpenFlow10", "-F", "openflow10", "--no-stats", "dump-flows", `tcp:${host}:${port}`],
    { encoding: "utf8", timeout: 10_000 },
  );
  return stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("OFPST_FLOW reply"));
}

/** Sends every case to the switch listening at host:port and records what it reports. */
export async function probeNormalisation(
  host: string,
  port: number,
  cases: readonly NormalisationCase[] = NORMALISATION_CASES,
): Promise<Record<string, Reported>> {
  const c = await ControllerPeer.connect(port, true, host);
  const out: Record<string, Reported> = {};
  try {
    // A session on a listener gets FLOW_REMOVED only once it set a miss_send_len.
    c.send({ type: OFPT.SET_CONFIG, xid: 0, flags: 0, missSendLen: 128 });
    const all = flowMod(OFPFC.DELETE, MATCH_ALL, 0);
    for (const k of cases) {
      c.send(all);
      await c.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
      c.drain(OFPT.FLOW_REMOVED);
      c.send(flowMod(OFPFC.ADD, k.match, 0x8000, OFPFF.SEND_FLOW_REM));
      const err = await c.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
      if (err.type !== OFPT.BARRIER_REPLY) throw new Error(`${k.name}: FLOW_MOD refused`);
      const parts = await c.stats({
        type: OFPT.STATS_REQUEST,
        xid: 0,
        flags: 0,
        statsType: OFPST.FLOW,
        match: MATCH_ALL,
        tableId: 0xff,
        outPort: OFPP.NONE,
      });
      const flows = parts.flatMap((p) =>
        p.type === OFPT.STATS_REPLY && p.statsType === OFPST.FLOW ? p.flows : [],
      );
      if (flows.length !== 1) throw new Error(`${k.name}: ${flows.length} entries reported`);
      const lines = await ofctlDump(host, port);
      c.send(all);
      const removed = await c.expect(OFPT.FLOW_REMOVED);
      const { match, priority, tableId } = flows[0];
      out[k.name] = {
        stats: { match, priority, tableId },
        removed: removed.match,
        ofctl: lines.join("\n"),
      };
    }
  } finally {
    c.close();
  }
  return out;
}

/** A running Open vSwitch bridge (OpenFlow 1.0, secure) whose listener a probe can reach. */
export interface OvsBridge {
  host: string;
  port: number;
  stop(): void;
}

/** ovs-vswitchd in a namespace of its own (test/controller/ovs-netns.ts) with one bridge that
 * listens for OpenFlow 1.0 on its veth address. */
export function startOvsBridge(prefix: string, subnet: string): OvsBridge {
  const ovs = new OvsNamespace(prefix, subnet);
  try {
    ovs.addOf10Bridge();
  } catch (e) {
    ovs.teardown();
    throw e;
  }
  return { host: ovs.ovsIp, port: 6653, stop: () => ovs.teardown() };
}
