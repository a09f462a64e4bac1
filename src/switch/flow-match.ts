// OF1.0 ofp_match <-> the flow table's RuleMatch (mask and value over the FlowKey words,
// packet/flow-key.ts). The match is normalised first (openflow/of10/normalise.ts), so fields that
// cannot apply never constrain anything; entries keep only their words, and what flow stats and
// FLOW_REMOVED report is rebuilt from them.
import { OFP_VLAN_NONE, OFPFW } from "../openflow/of10/constants.js";
import {
  inapplicableWildcards,
  normaliseMatch,
  NW_TOS_MASK,
  prefixMask,
  withPrefixCounts,
} from "../openflow/of10/normalise.js";
import type { MacAddress, Match } from "../openflow/of10/types.js";
import { parseMac } from "../openflow/wire.js";
import { EXACT_MASK, ruleMatch, type RuleMatch } from "../flowtable/rule-match.js";
import { FLOW_KEY_WORDS } from "../packet/flow-key.js";

/** Bit 12 of the key's dl_vlan: set only for untagged frames (0xffff; VIDs are 12 bits). */
const UNTAGGED_BIT = 0x1000;

const srcScratch = new Uint8Array(6);
const dstScratch = new Uint8Array(6);

/** Lays a normalised match's field values out as the nine FlowKey words. */
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

/** The words a normalised, non-exact match constrains. */
function maskOf(match: Match): Int32Array {
  const mask = new Int32Array(FLOW_KEY_WORDS);
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
  return mask;
}

/** The flow table's match for an OF1.0 match: normalised, then laid out as key words. An exact
 * match (every field that applies specified) gets the exact mask. */
export function ruleMatchOf(raw: Match): RuleMatch {
  const { match, exact } = normaliseMatch(raw);
  const value = new Int32Array(FLOW_KEY_WORDS);
  packValues(match, value);
  return ruleMatch(exact ? EXACT_MASK : maskOf(match), value);
}

const HEX_CHARS = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

/** "aa:bb:cc:dd:ee:ff" from bytes 0-3 in `hi` and bytes 4-5 in the top half of `lo`: one flat
 * string, no intermediate ones (a flow dump makes two per entry). */
function macFromWords(hi: number, lo: number): MacAddress {
  const h = HEX_CHARS;
  return String.fromCharCode(
    h[(hi >>> 28) & 15],
    h[(hi >>> 24) & 15],
    58,
    h[(hi >>> 20) & 15],
    h[(hi >>> 16) & 15],
    58,
    h[(hi >>> 12) & 15],
    h[(hi >>> 8) & 15],
    58,
    h[(hi >>> 4) & 15],
    h[hi & 15],
    58,
    h[(lo >>> 28) & 15],
    h[(lo >>> 24) & 15],
    58,
    h[(lo >>> 20) & 15],
    h[(lo >>> 16) & 15],
  );
}

/** The OF1.0 count of wildcarded low bits of a prefix mask (its trailing zeros; 32 for 0). */
function wildcardedBits(mask: number): number {
  return 32 - Math.clz32(~mask);
}

/** The wildcard bit `bit` when `maskBits` (the field's bits of the mask) are all clear. */
const wild = (maskBits: number, bit: number): number => (maskBits === 0 ? bit : 0);

/**
 * The normalised OF1.0 match of a rule made by ruleMatchOf (what flow stats and FLOW_REMOVED
 * report), rebuilt from its words in one pass (a flow dump makes one per entry). The values are
 * already normalised (zero where wildcarded, prefixes masked); the wildcards are the fields the
 * mask leaves out, plus what normalisation adds that the words do not show: the fields an
 * exact rule's dl_type / nw_proto make inapplicable, and dl_vlan_pcp specified (0) whenever
 * dl_vlan is untagged. A property test pins this to normaliseMatch for every match.
 */
export function reportedMatch(rule: { mask: Int32Array; value: Int32Array }): Match {
  const { mask, value } = rule;
  const dlVlan = value[0] & 0xffff;
  const dlType = value[4] >>> 16;
  const nwProto = value[5] & 0xff;
  let wc =
    wild(mask[0] >>> 16, OFPFW.IN_PORT) |
    wild(mask[0] & 0xffff & ~UNTAGGED_BIT, OFPFW.DL_VLAN) |
    wild(mask[1], OFPFW.DL_SRC) |
    wild(mask[3], OFPFW.DL_DST) |
    wild(mask[4] >>> 16, OFPFW.DL_TYPE) |
    wild((mask[4] >>> 8) & 0xff, OFPFW.DL_VLAN_PCP) |
    wild(mask[4] & NW_TOS_MASK, OFPFW.NW_TOS) |
    wild(mask[5], OFPFW.NW_PROTO) |
    wild(mask[8] >>> 16, OFPFW.TP_SRC) |
    wild(mask[8] & 0xffff, OFPFW.TP_DST);
  if ((wc & OFPFW.DL_VLAN) === 0 && dlVlan === OFP_VLAN_NONE) wc &= ~OFPFW.DL_VLAN_PCP;
  const forced = inapplicableWildcards(wc, dlType, nwProto);
  const src = (forced & OFPFW.NW_SRC_ALL) !== 0 ? 32 : wildcardedBits(mask[6]);
  const dst = (forced & OFPFW.NW_DST_ALL) !== 0 ? 32 : wildcardedBits(mask[7]);
  return new ReportedMatch(
    withPrefixCounts(wc | forced, src, dst),
    value[0] >>> 16,
    macFromWords(value[1], value[2]),
    macFromWords((value[2] << 16) | (value[3] >>> 16), value[3] << 16),
    dlVlan,
    (value[4] >>> 8) & 0xff,
    dlType,
    value[4] & 0xff,
    nwProto,
    value[6] >>> 0,
    value[7] >>> 0,
    value[8] >>> 16,
    value[8] & 0xffff,
  );
}

/**
 * A Match made by a constructor, not an object literal: V8 moves the allocation site of a
 * literal to old space once one scavenge finds nearly all its objects alive, and the first
 * scavenge of a large flow dump can find a whole reply's worth alive. From then on every
 * dumped entry's match was old-space garbage: +450 MiB RSS per 1,000,000-entry dump, measured.
 * Constructor calls are not pretenured that way.
 */
class ReportedMatch implements Match {
  constructor(
    public wildcards: number,
    public inPort: number,
    public dlSrc: MacAddress,
    public dlDst: MacAddress,
    public dlVlan: number,
    public dlVlanPcp: number,
    public dlType: number,
    public nwTos: number,
    public nwProto: number,
    public nwSrc: number,
    public nwDst: number,
    public tpSrc: number,
    public tpDst: number,
  ) {}
}
