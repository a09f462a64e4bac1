// OF1.0 match normalisation as Open vSwitch does it (ofputil_normalize_match): fields that
// cannot apply to the match's dl_type / nw_proto are wildcarded and zeroed, so they never
// constrain anything, and every match has one canonical form. The switch matches and reports
// (flow stats, FLOW_REMOVED) the normalised match. Rules in docs/flowtable.md; golden cases
// from Open vSwitch in test/fixtures/of10-normalisation.json.
import { parseMac, macToString } from "../wire.js";
import { OFP_VLAN_NONE, OFPFW } from "./constants.js";
import type { MacAddress, Match } from "./types.js";

export const ETH_TYPE_IP = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_RARP = 0x8035;
export const ETH_TYPE_IPV6 = 0x86dd;
export const IP_PROTO_ICMP = 1;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;
export const IP_PROTO_SCTP = 132;
export const IP_PROTO_ICMPV6 = 58;

/** OF1.0 nw_tos is the DSCP: the two ECN bits of the ToS byte never take part in matching. */
export const NW_TOS_MASK = 0xfc;

export interface NormalisedMatch {
  /** Wildcarded and non-applicable fields zero, wildcard bits canonical. */
  match: Match;
  /** Every field that applies is specified (OF1.0 "exact match": beats every wildcard entry). */
  exact: boolean;
}

const ZERO_MAC = "00:00:00:00:00:00";
const macScratch = new Uint8Array(6);

/** The canonical form of `mac`: itself when already canonical, else rebuilt from its bytes. */
function canonicalMac(mac: MacAddress): MacAddress {
  if (parseMac(mac, macScratch)) return mac;
  return macToString(macScratch);
}

/** Bits of an IPv4 address that a prefix wildcard count (0..32) leaves significant. */
export function prefixMask(wildcardedBits: number): number {
  return wildcardedBits >= 32 ? 0 : (0xffffffff << wildcardedBits) >>> 0;
}

/**
 * Wildcard bits forced on by OF1.0 normalisation, as Open vSwitch's ofputil_normalize_match:
 * nw_proto for IPv4, IPv6, ARP and RARP (the ARP opcode); nw_src/nw_dst for IPv4, ARP and RARP
 * (sender/target IP); nw_tos for IPv4 and IPv6 (the traffic class); tp_src/tp_dst for TCP, UDP
 * and SCTP over either IP, and for ICMP over IPv4 or ICMPv6 over IPv6 (type and code), with
 * nw_proto specified.
 */
export function inapplicableWildcards(wildcards: number, dlType: number, nwProto: number): number {
  let forced = 0;
  const typeKnown = (wildcards & OFPFW.DL_TYPE) === 0;
  const isIp = typeKnown && dlType === ETH_TYPE_IP;
  const isIpv6 = typeKnown && dlType === ETH_TYPE_IPV6;
  const isArp = typeKnown && (dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP);
  if (!isIp && !isArp) forced |= OFPFW.NW_SRC_ALL | OFPFW.NW_DST_ALL;
  if (!isIp && !isIpv6 && !isArp) forced |= OFPFW.NW_PROTO;
  if (!isIp && !isIpv6) forced |= OFPFW.NW_TOS;
  const protoKnown = (isIp || isIpv6) && (wildcards & OFPFW.NW_PROTO) === 0;
  const hasPorts =
    protoKnown &&
    (nwProto === IP_PROTO_TCP ||
      nwProto === IP_PROTO_UDP ||
      nwProto === IP_PROTO_SCTP ||
      nwProto === (isIp ? IP_PROTO_ICMP : IP_PROTO_ICMPV6));
  if (!hasPorts) forced |= OFPFW.TP_SRC | OFPFW.TP_DST;
  return forced;
}

/** dl_vlan = 0xffff (untagged) specified: then, as Open vSwitch reports it (the whole TCI is
 * matched: 0), dl_vlan_pcp counts as specified with value 0, whatever the FLOW_MOD said. */
function untagged(wildcards: number, m: Match): boolean {
  return (wildcards & OFPFW.DL_VLAN) === 0 && m.dlVlan === OFP_VLAN_NONE;
}

/** Sets the nw_src/nw_dst counts of `wc` to `srcBits`/`dstBits`. */
export function withPrefixCounts(wc: number, srcBits: number, dstBits: number): number {
  return (
    (wc & ~(OFPFW.NW_SRC_MASK | OFPFW.NW_DST_MASK)) |
    (srcBits << OFPFW.NW_SRC_SHIFT) |
    (dstBits << OFPFW.NW_DST_SHIFT)
  );
}

/** The normalised form of `m` (unknown wildcard bits dropped, prefix counts of 32 or more
 * read as 32) and whether it is an exact match. `m` is not changed. */
export function normaliseMatch(m: Match): NormalisedMatch {
  let wc = m.wildcards & OFPFW.ALL;
  if (untagged(wc, m)) wc &= ~OFPFW.DL_VLAN_PCP;
  const srcBits = Math.min(32, (wc & OFPFW.NW_SRC_MASK) >>> OFPFW.NW_SRC_SHIFT);
  const dstBits = Math.min(32, (wc & OFPFW.NW_DST_MASK) >>> OFPFW.NW_DST_SHIFT);
  wc = withPrefixCounts(wc, srcBits, dstBits);
  const forced = inapplicableWildcards(wc, m.dlType, m.nwProto);
  // A forced prefix wildcard means "all 32 bits", whatever count was sent.
  const forcedSrc = (forced & OFPFW.NW_SRC_ALL) !== 0;
  const forcedDst = (forced & OFPFW.NW_DST_ALL) !== 0;
  const src = forcedSrc ? 32 : srcBits;
  const dst = forcedDst ? 32 : dstBits;
  wc = withPrefixCounts(wc | (forced & ~(OFPFW.NW_SRC_MASK | OFPFW.NW_DST_MASK)), src, dst);

  const on = (bit: number): boolean => (wc & bit) === 0;
  const vlan = on(OFPFW.DL_VLAN)
    ? m.dlVlan === OFP_VLAN_NONE
      ? OFP_VLAN_NONE
      : m.dlVlan & 0xfff
    : 0;
  const match: Match = {
    wildcards: wc,
    inPort: on(OFPFW.IN_PORT) ? m.inPort & 0xffff : 0,
    dlSrc: on(OFPFW.DL_SRC) ? canonicalMac(m.dlSrc) : ZERO_MAC,
    dlDst: on(OFPFW.DL_DST) ? canonicalMac(m.dlDst) : ZERO_MAC,
    dlVlan: vlan,
    dlVlanPcp: on(OFPFW.DL_VLAN_PCP) && vlan !== OFP_VLAN_NONE ? m.dlVlanPcp & 7 : 0,
    dlType: on(OFPFW.DL_TYPE) ? m.dlType & 0xffff : 0,
    nwTos: on(OFPFW.NW_TOS) ? m.nwTos & NW_TOS_MASK : 0,
    nwProto: on(OFPFW.NW_PROTO) ? m.nwProto & 0xff : 0,
    nwSrc: (m.nwSrc & prefixMask(src)) >>> 0,
    nwDst: (m.nwDst & prefixMask(dst)) >>> 0,
    tpSrc: on(OFPFW.TP_SRC) ? m.tpSrc & 0xffff : 0,
    tpDst: on(OFPFW.TP_DST) ? m.tpDst & 0xffff : 0,
  };
  // Exact: nothing is wildcarded beyond what normalisation forced.
  const chosen = wc & ~forced & ~(OFPFW.NW_SRC_MASK | OFPFW.NW_DST_MASK);
  const exact = chosen === 0 && (forcedSrc || src === 0) && (forcedDst || dst === 0);
  return { match, exact };
}
