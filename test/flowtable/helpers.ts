// Builders for flow-table tests: matches from the fields they specify, packet keys, FLOW_MODs.
import {
  OFP_DEFAULT_PRIORITY,
  OFP_NO_BUFFER,
  OFP_VLAN_NONE,
  OFPAT,
  OFPFC,
  OFPFW,
  OFPP,
} from "../../src/openflow/of10/constants.js";
import type { Action, FlowMod, Match } from "../../src/openflow/of10/types.js";
import { FlowKey } from "../../src/packet/flow-key.js";
import { macBytes } from "../../src/flowtable/match-words.js";
import { matchAll } from "../../src/openflow/of10/match.js";

export type MatchFields = Partial<Omit<Match, "wildcards">> & {
  /** Low bits of nw_src / nw_dst left wildcarded (OF1.0 prefix counts). */
  nwSrcBits?: number;
  nwDstBits?: number;
};

const FIELD_BITS: [keyof MatchFields, number][] = [
  ["inPort", OFPFW.IN_PORT],
  ["dlVlan", OFPFW.DL_VLAN],
  ["dlSrc", OFPFW.DL_SRC],
  ["dlDst", OFPFW.DL_DST],
  ["dlType", OFPFW.DL_TYPE],
  ["nwProto", OFPFW.NW_PROTO],
  ["tpSrc", OFPFW.TP_SRC],
  ["tpDst", OFPFW.TP_DST],
  ["dlVlanPcp", OFPFW.DL_VLAN_PCP],
  ["nwTos", OFPFW.NW_TOS],
];

/** A match that specifies exactly the given fields; everything else wildcarded. */
export function matchOf(f: MatchFields): Match {
  const m: Match = { ...matchAll(), ...f };
  let wc = OFPFW.ALL & ~(OFPFW.NW_SRC_MASK | OFPFW.NW_DST_MASK);
  for (const [field, bit] of FIELD_BITS) if (f[field] !== undefined) wc &= ~bit;
  const src = f.nwSrc === undefined ? 32 : (f.nwSrcBits ?? 0);
  const dst = f.nwDst === undefined ? 32 : (f.nwDstBits ?? 0);
  m.wildcards = wc | (src << OFPFW.NW_SRC_SHIFT) | (dst << OFPFW.NW_DST_SHIFT);
  delete (m as MatchFields).nwSrcBits;
  delete (m as MatchFields).nwDstBits;
  return m;
}

/** A match with wildcards = 0: every field as given (unspecified ones zero, dl_vlan untagged). */
export function exactMatch(f: Partial<Omit<Match, "wildcards">>): Match {
  return { ...matchAll(), dlVlan: OFP_VLAN_NONE, ...f, wildcards: 0 };
}

export interface PacketFields {
  inPort?: number;
  dlSrc?: string;
  dlDst?: string;
  dlVlan?: number;
  dlVlanPcp?: number;
  dlType?: number;
  nwTos?: number;
  nwProto?: number;
  nwSrc?: number;
  nwDst?: number;
  tpSrc?: number;
  tpDst?: number;
}

/** A packet key as the datapath builds it: unset fields zero, untagged unless dlVlan is given. */
export function keyOf(p: PacketFields, into = new FlowKey()): FlowKey {
  into.clear();
  into.inPort = p.inPort ?? 0;
  into.dlVlan = p.dlVlan ?? OFP_VLAN_NONE;
  into.setDlSrcFrom(Uint8Array.from(macBytes(p.dlSrc ?? "00:00:00:00:00:00")), 0);
  into.setDlDstFrom(Uint8Array.from(macBytes(p.dlDst ?? "00:00:00:00:00:00")), 0);
  into.dlVlanPcp = p.dlVlanPcp ?? 0;
  into.dlType = p.dlType ?? 0;
  into.nwTos = p.nwTos ?? 0;
  into.nwProto = p.nwProto ?? 0;
  into.nwSrc = p.nwSrc ?? 0;
  into.nwDst = p.nwDst ?? 0;
  into.tpSrc = p.tpSrc ?? 0;
  into.tpDst = p.tpDst ?? 0;
  return into;
}

export const output = (port: number): Action => ({ type: OFPAT.OUTPUT, port, maxLen: 0 });

export function flowMod(f: Partial<FlowMod> & { match: Match }): FlowMod {
  return {
    cookie: 0n,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: OFP_DEFAULT_PRIORITY,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.NONE,
    flags: 0,
    actions: [output(1)],
    ...f,
  };
}

/** A clock the test moves by hand. */
export class ManualClock {
  ms = 1000;
  readonly read = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export const ip = (s: string): number =>
  s.split(".").reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
