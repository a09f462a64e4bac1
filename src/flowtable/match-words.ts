// OF1.0 ofp_match -> (mask words, value words) over the FlowKey layout (flow-key.ts), with the
// match normalised the way Open vSwitch does for OF1.0 so that fields which cannot apply to the
// match's dl_type / nw_proto never constrain anything. A packet key matches when
// (key[i] & mask[i]) === value[i] for all nine words. Words are int32 (Int32Array) so that
// `key & mask` (always int32 in JS) compares with stored words without uint32/double mixing.
import { OFP_VLAN_NONE, OFPFW } from "../openflow/of10/constants.js";
import type { MacAddress, Match } from "../openflow/of10/types.js";
import { FLOW_KEY_WORDS } from "../packet/flow-key.js";

export const ETH_TYPE_IP = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const IP_PROTO_ICMP = 1;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;

/** OF1.0 nw_tos is the DSCP: the two ECN bits of the ToS byte never take part in matching. */
export const NW_TOS_MASK = 0xfc;

/** The mask of every exact-match entry (shared; never written): all key bits but the ECN bits. */
export const EXACT_MASK: Int32Array = Int32Array.from([
  -1,
  -1,
  -1,
  -1,
  ~0xff | NW_TOS_MASK,
  -1,
  -1,
  -1,
  -1,
]);

export interface MatchWords {
  /** The match as normalised: wildcarded and non-applicable fields zero, wildcard bits canonical. */
  match: Match;
  mask: Int32Array;
  value: Int32Array;
  /** Every field that applies is specified (OF1.0 "exact match": beats every wildcard entry). */
  exact: boolean;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses "aa:bb:cc:dd:ee:ff" into `out[0..5]`; anything unparsable reads as zero bytes (never
 * throws). Returns whether `mac` was already canonical (17 chars, lower-case), so callers can
 * keep the string instead of rebuilding it.
 */
export function parseMac(mac: MacAddress, out: Uint8Array | number[]): boolean {
  let canonical = mac.length === 17;
  for (let i = 0; i < 6; i++) {
    const hi = hexDigit(mac.charCodeAt(i * 3));
    const lo = hexDigit(mac.charCodeAt(i * 3 + 1));
    if (hi < 0 || lo < 0 || (i < 5 && mac.charCodeAt(i * 3 + 2) !== 58)) {
      out.fill(0);
      return false;
    }
    out[i] = (hi << 4) | lo;
    if (mac.charCodeAt(i * 3) >= 65 && mac.charCodeAt(i * 3) <= 70) canonical = false;
    if (mac.charCodeAt(i * 3 + 1) >= 65 && mac.charCodeAt(i * 3 + 1) <= 70) canonical = false;
  }
  return canonical;
}

/** "aa:bb:cc:dd:ee:ff" -> 6 bytes (zeros if unparsable). */
export function macBytes(mac: MacAddress): number[] {
  const out = [0, 0, 0, 0, 0, 0];
  parseMac(mac, out);
  return out;
}

const ZERO_MAC = "00:00:00:00:00:00";
const macScratch = new Uint8Array(6);

/** The canonical form of `mac`: itself when already canonical, else rebuilt from its bytes. */
function canonicalMac(mac: MacAddress): MacAddress {
  if (parseMac(mac, macScratch)) return mac;
  return Array.from(macScratch, (x) => x.toString(16).padStart(2, "0")).join(":");
}

/** Bits of an IPv4 address that a prefix wildcard count (0..32) leaves significant. */
function prefixMask(wildcardedBits: number): number {
  return wildcardedBits >= 32 ? 0 : (0xffffffff << wildcardedBits) >>> 0;
}

/**
 * Wildcard bits forced on by OF1.0 normalisation (OVS ofputil_normalize_match): nw_* only for
 * IPv4 and ARP (ARP opcode in nw_proto, sender/target IP in nw_src/nw_dst), nw_tos only for IPv4,
 * tp_* only for IPv4 with nw_proto TCP/UDP/ICMP specified.
 */
export function inapplicableWildcards(wildcards: number, m: Match): number {
  let forced = 0;
  const typeKnown = (wildcards & OFPFW.DL_TYPE) === 0;
  const isIp = typeKnown && m.dlType === ETH_TYPE_IP;
  const isArp = typeKnown && m.dlType === ETH_TYPE_ARP;
  if (!isIp && !isArp) forced |= OFPFW.NW_PROTO | OFPFW.NW_SRC_ALL | OFPFW.NW_DST_ALL;
  if (!isIp) forced |= OFPFW.NW_TOS;
  const protoKnown = isIp && (wildcards & OFPFW.NW_PROTO) === 0;
  const hasPorts =
    protoKnown &&
    (m.nwProto === IP_PROTO_TCP || m.nwProto === IP_PROTO_UDP || m.nwProto === IP_PROTO_ICMP);
  if (!hasPorts) forced |= OFPFW.TP_SRC | OFPFW.TP_DST;
  return forced;
}

/** dl_vlan = 0xffff (untagged) specified: then, as Open vSwitch reports it (the whole TCI is
 * matched: 0), dl_vlan_pcp counts as specified with value 0, whatever the FLOW_MOD said. */
function untagged(wildcards: number, m: Match): boolean {
  return (wildcards & OFPFW.DL_VLAN) === 0 && m.dlVlan === OFP_VLAN_NONE;
}

/** Bit 12 of the key's dl_vlan: set only for untagged frames (0xffff; VIDs are 12 bits). */
const UNTAGGED_BIT = 0x1000;

/** Sets the nw_src/nw_dst counts of `wc` to `srcBits`/`dstBits`. */
function withPrefixCounts(wc: number, srcBits: number, dstBits: number): number {
  return (
    (wc & ~(OFPFW.NW_SRC_MASK | OFPFW.NW_DST_MASK)) |
    (srcBits << OFPFW.NW_SRC_SHIFT) |
    (dstBits << OFPFW.NW_DST_SHIFT)
  );
}

function normalise(m: Match): { match: Match; exact: boolean } {
  let wc = m.wildcards & OFPFW.ALL;
  if (untagged(wc, m)) wc &= ~OFPFW.DL_VLAN_PCP;
  const srcBits = Math.min(32, (wc & OFPFW.NW_SRC_MASK) >>> OFPFW.NW_SRC_SHIFT);
  const dstBits = Math.min(32, (wc & OFPFW.NW_DST_MASK) >>> OFPFW.NW_DST_SHIFT);
  wc = withPrefixCounts(wc, srcBits, dstBits);
  const forced = inapplicableWildcards(wc, m);
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

/** Packs a normalised match's field values into the nine FlowKey words. */
const srcScratch = new Uint8Array(6);
const dstScratch = new Uint8Array(6);

function packValues(m: Match, out: Int32Array): void {
  const s = srcScratch;
  const d = dstScratch;
  parseMac(m.dlSrc, s);
  parseMac(m.dlDst, d);
  out[0] = (m.inPort << 16) | m.dlVlan;
  out[1] = (s[0] << 24) | (s[1] << 16) | (s[2] << 8) | s[3];
  out[2] = (s[4] << 24) | (s[5] << 16) | (d[0] << 8) | d[1];
  out[3] = (d[2] << 24) | (d[3] << 16) | (d[4] << 8) | d[5];
  out[4] = (m.dlType << 16) | (m.dlVlanPcp << 8) | m.nwTos;
  out[5] = m.nwProto;
  out[6] = m.nwSrc | 0;
  out[7] = m.nwDst | 0;
  out[8] = (m.tpSrc << 16) | m.tpDst;
}

/** The one Match -> (mask, value) conversion: normalises, then lays the match out as key words. */
export function matchToWords(raw: Match): MatchWords {
  const { match, exact } = normalise(raw);
  // Exact entries share EXACT_MASK (never written) to save an array per entry.
  const mask = exact ? EXACT_MASK : new Int32Array(FLOW_KEY_WORDS);
  if (!exact) {
    const wc = match.wildcards;
    const bits = (bit: number, m: number): number => ((wc & bit) === 0 ? m : 0);
    const src = (wc & OFPFW.NW_SRC_MASK) >>> OFPFW.NW_SRC_SHIFT;
    const dst = (wc & OFPFW.NW_DST_MASK) >>> OFPFW.NW_DST_SHIFT;
    // A PCP without a VID (dl_vlan wildcarded) matches tagged frames only, as in Open vSwitch
    // (its CFI bit): require the key's untagged bit clear.
    const pcpOnly = (wc & OFPFW.DL_VLAN) !== 0 && (wc & OFPFW.DL_VLAN_PCP) === 0;
    const untaggedFrame = match.dlVlan === OFP_VLAN_NONE;
    mask[0] =
      (bits(OFPFW.IN_PORT, 0xffff) << 16) |
      bits(OFPFW.DL_VLAN, 0xffff) |
      (pcpOnly ? UNTAGGED_BIT : 0);
    mask[1] = bits(OFPFW.DL_SRC, -1);
    mask[2] = (bits(OFPFW.DL_SRC, 0xffff) << 16) | bits(OFPFW.DL_DST, 0xffff);
    mask[3] = bits(OFPFW.DL_DST, -1);
    mask[4] =
      (bits(OFPFW.DL_TYPE, 0xffff) << 16) |
      (untaggedFrame ? 0 : bits(OFPFW.DL_VLAN_PCP, 0xff) << 8) |
      bits(OFPFW.NW_TOS, NW_TOS_MASK);
    mask[5] = bits(OFPFW.NW_PROTO, 0xff);
    mask[6] = prefixMask(src) | 0;
    mask[7] = prefixMask(dst) | 0;
    mask[8] = (bits(OFPFW.TP_SRC, 0xffff) << 16) | bits(OFPFW.TP_DST, 0xffff);
  }
  const value = new Int32Array(FLOW_KEY_WORDS);
  packValues(match, value);
  for (let i = 0; i < FLOW_KEY_WORDS; i++) value[i] &= mask[i];
  return { match, mask, value, exact };
}

/** Every packet `entry` matches is also matched by `request` (OF1.0 non-strict selection). */
export function covers(
  reqMask: Int32Array,
  reqValue: Int32Array,
  mask: Int32Array,
  value: Int32Array,
): boolean {
  for (let i = 0; i < FLOW_KEY_WORDS; i++) {
    if ((reqMask[i] & ~mask[i]) !== 0 || (value[i] & reqMask[i]) !== reqValue[i]) return false;
  }
  return true;
}

/** Some packet can match both (mask, value) pairs. */
export function overlaps(
  maskA: Int32Array,
  valueA: Int32Array,
  maskB: Int32Array,
  valueB: Int32Array,
): boolean {
  for (let i = 0; i < FLOW_KEY_WORDS; i++) {
    const common = maskA[i] & maskB[i];
    if ((valueA[i] & common) !== (valueB[i] & common)) return false;
  }
  return true;
}

export function sameWords(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < FLOW_KEY_WORDS; i++) if (a[i] !== b[i]) return false;
  return true;
}
