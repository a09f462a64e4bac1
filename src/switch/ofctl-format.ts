// OpenFlow 1.0 matches and actions written as ovs-ofctl writes them (dump-flows, ofp-print), so
// what the switch reports (the packet trace) can be pasted back into ovs-ofctl. Checked against
// `ovs-ofctl ofp-print` in test/switch/ofctl-format.test.ts.
import { OFP_VLAN_NONE, OFPAT, OFPFW, OFPP } from "../openflow/of10/constants.js";
import type { Action, Match } from "../openflow/of10/types.js";
import { ipv4ToString } from "../openflow/wire.js";
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IPV4,
  ETH_TYPE_IPV6,
  ETH_TYPE_RARP,
  IP_PROTO_ICMP,
  IP_PROTO_ICMPV6,
  IP_PROTO_SCTP,
  IP_PROTO_TCP,
  IP_PROTO_UDP,
} from "../packet/parse.js";

const PROTO_NAMES: Record<number, string> = {
  [IP_PROTO_ICMP]: "icmp",
  [IP_PROTO_TCP]: "tcp",
  [IP_PROTO_UDP]: "udp",
  [IP_PROTO_SCTP]: "sctp",
};
const PROTO_NAMES_V6: Record<number, string> = {
  [IP_PROTO_ICMPV6]: "icmp6",
  [IP_PROTO_TCP]: "tcp6",
  [IP_PROTO_UDP]: "udp6",
  [IP_PROTO_SCTP]: "sctp6",
};

/** A wildcarded-prefix IPv4 field: `a.b.c.d`, `a.b.c.d/len`, or undefined when all wild. */
function ipField(addr: number, wildcards: number, shift: number): string | undefined {
  const wild = Math.min(32, (wildcards >>> shift) & 0x3f);
  if (wild >= 32) return undefined;
  const len = 32 - wild;
  const masked = len === 0 ? 0 : (addr & (0xffffffff << wild)) >>> 0;
  return len === 32 ? ipv4ToString(masked) : `${ipv4ToString(masked)}/${len}`;
}

/** The match as ovs-ofctl prints it (without priority); "" when everything is wildcarded. */
export function formatMatch(m: Match): string {
  const w = m.wildcards;
  const has = (bit: number) => (w & bit) === 0;
  const out: string[] = [];
  const typeKnown = has(OFPFW.DL_TYPE);
  const isIp = typeKnown && m.dlType === ETH_TYPE_IPV4;
  const isIpv6 = typeKnown && m.dlType === ETH_TYPE_IPV6;
  const isRarp = typeKnown && m.dlType === ETH_TYPE_RARP;
  const isArp = (typeKnown && m.dlType === ETH_TYPE_ARP) || isRarp;
  const anyIp = isIp || isIpv6;
  const protoName =
    anyIp && has(OFPFW.NW_PROTO) ? (isIp ? PROTO_NAMES : PROTO_NAMES_V6)[m.nwProto] : undefined;
  if (protoName) out.push(protoName);
  else if (isIp) out.push("ip");
  else if (isIpv6) out.push("ipv6");
  else if (isArp) out.push(isRarp ? "rarp" : "arp");
  if (has(OFPFW.IN_PORT)) out.push(`in_port=${portName(m.inPort)}`);
  if (has(OFPFW.DL_VLAN)) {
    if (m.dlVlan === OFP_VLAN_NONE) out.push("vlan_tci=0x0000");
    else {
      out.push(`dl_vlan=${m.dlVlan}`);
      if (has(OFPFW.DL_VLAN_PCP)) out.push(`dl_vlan_pcp=${m.dlVlanPcp}`);
    }
  }
  if (has(OFPFW.DL_SRC)) out.push(`dl_src=${m.dlSrc}`);
  if (has(OFPFW.DL_DST)) out.push(`dl_dst=${m.dlDst}`);
  if (typeKnown && !anyIp && !isArp)
    out.push(`dl_type=0x${m.dlType.toString(16).padStart(4, "0")}`);
  if (isIp || isArp) {
    const src = ipField(m.nwSrc, w, OFPFW.NW_SRC_SHIFT);
    const dst = ipField(m.nwDst, w, OFPFW.NW_DST_SHIFT);
    if (src !== undefined) out.push(`${isArp ? "arp_spa" : "nw_src"}=${src}`);
    if (dst !== undefined) out.push(`${isArp ? "arp_tpa" : "nw_dst"}=${dst}`);
  }
  if (anyIp && has(OFPFW.NW_PROTO) && !protoName) out.push(`nw_proto=${m.nwProto}`);
  if (anyIp && has(OFPFW.NW_TOS)) out.push(`nw_tos=${m.nwTos}`);
  if (isArp && has(OFPFW.NW_PROTO)) out.push(`arp_op=${m.nwProto}`);
  if (protoName === "icmp" || protoName === "icmp6") {
    if (has(OFPFW.TP_SRC)) out.push(`icmp_type=${m.tpSrc}`);
    if (has(OFPFW.TP_DST)) out.push(`icmp_code=${m.tpDst}`);
  } else if (protoName) {
    if (has(OFPFW.TP_SRC)) out.push(`tp_src=${m.tpSrc}`);
    if (has(OFPFW.TP_DST)) out.push(`tp_dst=${m.tpDst}`);
  }
  return out.join(",");
}

const PORT_NAMES: Record<number, string> = {
  [OFPP.IN_PORT]: "IN_PORT",
  [OFPP.TABLE]: "TABLE",
  [OFPP.NORMAL]: "NORMAL",
  [OFPP.FLOOD]: "FLOOD",
  [OFPP.ALL]: "ALL",
  [OFPP.CONTROLLER]: "CONTROLLER",
  [OFPP.LOCAL]: "LOCAL",
  [OFPP.NONE]: "NONE",
};

/** A port number as ovs-ofctl names it: a number, or IN_PORT, FLOOD, LOCAL, ... */
export function portName(port: number): string {
  return PORT_NAMES[port] ?? String(port);
}

/** One action as ovs-ofctl prints it. */
export function formatAction(a: Action): string {
  switch (a.type) {
    case OFPAT.OUTPUT:
      if (a.port === OFPP.CONTROLLER) return `CONTROLLER:${a.maxLen}`;
      return a.port < OFPP.MAX ? `output:${a.port}` : portName(a.port);
    case OFPAT.SET_VLAN_VID:
      return `mod_vlan_vid:${a.vlanVid}`;
    case OFPAT.SET_VLAN_PCP:
      return `mod_vlan_pcp:${a.vlanPcp}`;
    case OFPAT.STRIP_VLAN:
      return "strip_vlan";
    case OFPAT.SET_DL_SRC:
      return `mod_dl_src:${a.dlAddr}`;
    case OFPAT.SET_DL_DST:
      return `mod_dl_dst:${a.dlAddr}`;
    case OFPAT.SET_NW_SRC:
      return `mod_nw_src:${ipv4ToString(a.nwAddr)}`;
    case OFPAT.SET_NW_DST:
      return `mod_nw_dst:${ipv4ToString(a.nwAddr)}`;
    case OFPAT.SET_NW_TOS:
      return `mod_nw_tos:${a.nwTos}`;
    case OFPAT.SET_TP_SRC:
      return `mod_tp_src:${a.tpPort}`;
    case OFPAT.SET_TP_DST:
      return `mod_tp_dst:${a.tpPort}`;
    case OFPAT.ENQUEUE:
      return `enqueue:${a.port}:${a.queueId}`;
    case OFPAT.VENDOR:
      return `vendor:0x${a.vendor.toString(16)}`;
  }
}

/** An action list as ovs-ofctl prints it; "drop" when empty. */
export function formatActions(actions: readonly Action[]): string {
  return actions.length === 0 ? "drop" : actions.map(formatAction).join(",");
}
