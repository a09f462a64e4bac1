// Builders for flow-table tests in the table's own terms: packet keys, rule matches over the
// FlowKey words, and rules whose actions are plain lists of output ports (opaque to the table).
import type { NewRule } from "../../src/flowtable/flow-entry.js";
import { EXACT_MASK, ruleMatch, type RuleMatch } from "../../src/flowtable/rule-match.js";
import { FlowKey, VLAN_NONE } from "../../src/packet/flow-key.js";

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

const macBytes = (mac: string): Uint8Array =>
  Uint8Array.from(mac.split(":").map((x) => parseInt(x, 16)));

/** A packet key as the datapath builds it: unset fields zero, untagged unless dlVlan is given. */
export function keyOf(p: PacketFields, into = new FlowKey()): FlowKey {
  into.clear();
  into.inPort = p.inPort ?? 0;
  into.dlVlan = p.dlVlan ?? VLAN_NONE;
  into.setDlSrcFrom(macBytes(p.dlSrc ?? "00:00:00:00:00:00"), 0);
  into.setDlDstFrom(macBytes(p.dlDst ?? "00:00:00:00:00:00"), 0);
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

export type RuleFields = PacketFields & {
  /** Leading bits of nw_src / nw_dst that must match (default 32). */
  nwSrcLen?: number;
  nwDstLen?: number;
};

const prefix = (len: number): number => (len <= 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/** The key mask that constrains exactly the given fields (nw_tos: its DSCP bits). */
export function maskOf(f: RuleFields): FlowKey {
  const m = new FlowKey();
  const ones = Uint8Array.of(255, 255, 255, 255, 255, 255);
  if (f.inPort !== undefined) m.inPort = 0xffff;
  if (f.dlVlan !== undefined) m.dlVlan = 0xffff;
  if (f.dlSrc !== undefined) m.setDlSrcFrom(ones, 0);
  if (f.dlDst !== undefined) m.setDlDstFrom(ones, 0);
  if (f.dlVlanPcp !== undefined) m.dlVlanPcp = 0xff;
  if (f.dlType !== undefined) m.dlType = 0xffff;
  if (f.nwTos !== undefined) m.nwTos = 0xfc;
  if (f.nwProto !== undefined) m.nwProto = 0xff;
  if (f.nwSrc !== undefined) m.nwSrc = prefix(f.nwSrcLen ?? 32);
  if (f.nwDst !== undefined) m.nwDst = prefix(f.nwDstLen ?? 32);
  if (f.tpSrc !== undefined) m.tpSrc = 0xffff;
  if (f.tpDst !== undefined) m.tpDst = 0xffff;
  return m;
}

/** A match on exactly the given fields; every other key bit wildcarded. */
export function matchOn(f: RuleFields): RuleMatch {
  return ruleMatch(Int32Array.from(maskOf(f).words), Int32Array.from(keyOf(f).words));
}

/** The exact match of the packet with these fields (the whole key but its ECN bits). */
export function exactOn(p: PacketFields): RuleMatch {
  return ruleMatch(Int32Array.from(EXACT_MASK), Int32Array.from(keyOf(p).words));
}

/** A rule's actions in these tests: the ports it outputs to. */
export type Ports = readonly number[];

/** A rule on `match` with priority 0x8000, cookie 0, no timeouts, output to port 1. */
export function rule(match: RuleMatch, f: Partial<NewRule<Ports>> = {}): NewRule<Ports> {
  return {
    match,
    priority: 0x8000,
    cookie: 0n,
    idleTimeout: 0,
    hardTimeout: 0,
    actions: [1],
    ...f,
  };
}

/** The table's `where` filter for "outputs to port". */
export const outputsTo =
  (port: number) =>
  (ports: Ports): boolean =>
    ports.includes(port);

/** A TCP packet from 10.0.0.1:1000 to 10.0.0.2:80 on port 1. */
export const TCP_PACKET: PacketFields = {
  inPort: 1,
  dlType: 0x0800,
  nwProto: 6,
  nwSrc: 0x0a000001,
  nwDst: 0x0a000002,
  tpSrc: 1000,
  tpDst: 80,
};

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
