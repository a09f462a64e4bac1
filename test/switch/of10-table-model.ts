// Reference model of the OF1.0 flow table: a plain list scanned in precedence order (exact
// entries first, then priority, then age), with matching done field by field on the Match
// itself. It shares no matching code with src/flowtable or src/switch so the property tests
// cross-check the normalisation, the word layout, the classifier's search order and the
// FLOW_MOD translation.
import {
  OFP_VLAN_NONE,
  OFPAT,
  OFPFC,
  OFPFF,
  OFPFMFC,
  OFPFW,
  OFPP,
} from "../../src/openflow/of10/constants.js";
import type { Action, FlowMod, Match } from "../../src/openflow/of10/types.js";
import type { PacketFields } from "./of-table.js";

const ZERO_MAC = "00:00:00:00:00:00";

type Field = Exclude<keyof PacketFields, "nwSrc" | "nwDst">;

/** What a match requires of a packet: a value per field it considers, and IPv4 prefixes. */
interface Canon {
  fields: Partial<Record<Field, number | string>>;
  /** A PCP without a VID: only tagged packets match (Open vSwitch requires the CFI bit). */
  tagged?: boolean;
  nwSrc?: { addr: number; len: number };
  nwDst?: { addr: number; len: number };
}

export interface ModelEntry {
  canon: Canon;
  key: string;
  exact: boolean;
  priority: number;
  cookie: bigint;
  actions: Action[];
  flags: number;
  emergency: boolean;
  seq: number;
}

export function canonOf(m: Match): { canon: Canon; exact: boolean } {
  const wc = m.wildcards;
  const has = (bit: number): boolean => (wc & bit) === 0;
  const typeKnown = has(OFPFW.DL_TYPE);
  const ipv4 = typeKnown && m.dlType === 0x0800;
  const ipv6 = typeKnown && m.dlType === 0x86dd;
  // As Open vSwitch: RARP is ARP; IPv6 has nw_tos, nw_proto and ports but no OF1.0 addresses;
  // SCTP has ports, and ICMP (IPv4) or ICMPv6 (IPv6) type and code.
  const arp = typeKnown && (m.dlType === 0x0806 || m.dlType === 0x8035);
  const l3 = ipv4 || arp;
  const protoKnown = (ipv4 || ipv6) && has(OFPFW.NW_PROTO);
  const ports = protoKnown && [6, 17, 132, ipv4 ? 1 : 58].includes(m.nwProto);
  const untagged = has(OFPFW.DL_VLAN) && m.dlVlan === OFP_VLAN_NONE;
  const srcLen = 32 - Math.min(32, (wc >> OFPFW.NW_SRC_SHIFT) & 63);
  const dstLen = 32 - Math.min(32, (wc >> OFPFW.NW_DST_SHIFT) & 63);
  const applies: Record<Field, [boolean, boolean, number | string]> = {
    inPort: [true, has(OFPFW.IN_PORT), m.inPort],
    dlVlan: [true, has(OFPFW.DL_VLAN), untagged ? OFP_VLAN_NONE : m.dlVlan & 0xfff],
    dlSrc: [true, has(OFPFW.DL_SRC), m.dlSrc.toLowerCase()],
    dlDst: [true, has(OFPFW.DL_DST), m.dlDst.toLowerCase()],
    dlType: [true, typeKnown, m.dlType],
    dlVlanPcp: [!untagged, has(OFPFW.DL_VLAN_PCP), m.dlVlanPcp & 7],
    nwTos: [ipv4 || ipv6, has(OFPFW.NW_TOS), m.nwTos & 0xfc],
    nwProto: [l3 || ipv6, has(OFPFW.NW_PROTO), m.nwProto],
    tpSrc: [ports, has(OFPFW.TP_SRC), m.tpSrc],
    tpDst: [ports, has(OFPFW.TP_DST), m.tpDst],
  };
  const exact =
    (!l3 || (srcLen === 32 && dstLen === 32)) &&
    Object.values(applies).every(([applicable, specified]) => !applicable || specified);
  const canon: Canon = { fields: {} };
  if (!has(OFPFW.DL_VLAN) && has(OFPFW.DL_VLAN_PCP)) canon.tagged = true;
  for (const [f, [applicable, specified, value]] of Object.entries(applies) as [
    Field,
    [boolean, boolean, number | string],
  ][]) {
    // An exact entry matches the whole key the datapath builds, whose non-applicable fields are 0.
    if (exact) canon.fields[f] = applicable ? value : f === "dlSrc" || f === "dlDst" ? ZERO_MAC : 0;
    else if (applicable && specified) canon.fields[f] = value;
  }
  if (exact) {
    canon.nwSrc = { addr: l3 ? m.nwSrc >>> 0 : 0, len: 32 };
    canon.nwDst = { addr: l3 ? m.nwDst >>> 0 : 0, len: 32 };
  } else {
    if (l3 && srcLen > 0) canon.nwSrc = { addr: m.nwSrc >>> 0, len: srcLen };
    if (l3 && dstLen > 0) canon.nwDst = { addr: m.nwDst >>> 0, len: dstLen };
  }
  return { canon, exact };
}

const prefix = (addr: number, len: number): number => (len === 0 ? 0 : (addr >>> (32 - len)) >>> 0);

function canonKey(c: Canon): string {
  const norm = (p?: { addr: number; len: number }): string =>
    p ? `${prefix(p.addr, p.len)}/${p.len}` : "*";
  const fields = JSON.stringify(c.fields, Object.keys(c.fields).sort());
  return fields + (c.tagged ? "tagged" : "") + norm(c.nwSrc) + norm(c.nwDst);
}

export function packetMatches(c: Canon, p: Required<PacketFields>): boolean {
  if (c.tagged && p.dlVlan === OFP_VLAN_NONE) return false;
  for (const [f, v] of Object.entries(c.fields) as [Field, number | string][]) {
    const pv =
      f === "nwTos" ? p.nwTos & 0xfc : f === "dlSrc" || f === "dlDst" ? p[f].toLowerCase() : p[f];
    if (pv !== v) return false;
  }
  if (c.nwSrc && prefix(p.nwSrc, c.nwSrc.len) !== prefix(c.nwSrc.addr, c.nwSrc.len)) return false;
  if (c.nwDst && prefix(p.nwDst, c.nwDst.len) !== prefix(c.nwDst.addr, c.nwDst.len)) return false;
  return true;
}

/** Some packet satisfies both. */
function canonsOverlap(a: Canon, b: Canon): boolean {
  // "tagged" never conflicts with a field value: both can hold for some tagged packet, except
  // against an explicit untagged dl_vlan.
  for (const [t, o] of [
    [a, b],
    [b, a],
  ] as const) {
    if (t.tagged && o.fields.dlVlan === OFP_VLAN_NONE) return false;
  }
  for (const [f, v] of Object.entries(a.fields) as [Field, number | string][]) {
    if (b.fields[f] !== undefined && b.fields[f] !== v) return false;
  }
  for (const k of ["nwSrc", "nwDst"] as const) {
    const x = a[k];
    const y = b[k];
    if (x && y) {
      const len = Math.min(x.len, y.len);
      if (prefix(x.addr, len) !== prefix(y.addr, len)) return false;
    }
  }
  return true;
}

/** Every packet `e` matches is matched by `req`. */
function canonCovers(req: Canon, e: Canon): boolean {
  if (
    req.tagged &&
    !e.tagged &&
    (e.fields.dlVlan === undefined || e.fields.dlVlan === OFP_VLAN_NONE)
  )
    return false;
  for (const [f, v] of Object.entries(req.fields) as [Field, number | string][]) {
    if (e.fields[f] !== v) return false;
  }
  for (const k of ["nwSrc", "nwDst"] as const) {
    const r = req[k];
    const x = e[k];
    if (r && (!x || x.len < r.len || prefix(x.addr, r.len) !== prefix(r.addr, r.len))) return false;
  }
  return true;
}

export const precedenceOrder = (a: ModelEntry, b: ModelEntry): number =>
  Number(b.exact) - Number(a.exact) || b.priority - a.priority || a.seq - b.seq;

export interface ModelResult {
  error?: number;
  removedCookies: bigint[];
}

export class ModelTable {
  entries: ModelEntry[] = [];
  private seq = 0;

  constructor(private readonly maxEntries: number) {}

  lookup(p: Required<PacketFields>): ModelEntry | undefined {
    return this.entries
      .filter((e) => !e.emergency && packetMatches(e.canon, p))
      .sort(precedenceOrder)[0];
  }

  select(req: Match, emergency: boolean, outPort: number): ModelEntry[] {
    const { canon } = canonOf(req);
    return this.entries
      .filter((e) => e.emergency === emergency && canonCovers(canon, e.canon))
      .filter((e) => outPort === OFPP.NONE || outputsTo(e.actions, outPort))
      .sort(precedenceOrder);
  }

  apply(sent: FlowMod): ModelResult {
    // OF1.0 wildcards 0 on the wire: priority 65535 for every command (as Open vSwitch).
    const fm = (sent.match.wildcards & OFPFW.ALL) === 0 ? { ...sent, priority: 0xffff } : sent;
    const emergency = (fm.flags & OFPFF.EMERG) !== 0;
    const { canon, exact: allSpecified } = canonOf(fm.match);
    // Unranked above everything only at priority 65535; otherwise it ranks by priority (OVS).
    const exact = allSpecified && fm.priority === 0xffff;
    const key = canonKey(canon);
    const same = (e: ModelEntry): boolean =>
      e.emergency === emergency &&
      e.key === key &&
      e.exact === exact &&
      (exact || e.priority === fm.priority);
    switch (fm.command) {
      case OFPFC.ADD:
        return this.add(fm, canon, exact, key, emergency);
      case OFPFC.MODIFY:
      case OFPFC.MODIFY_STRICT: {
        const targets =
          fm.command === OFPFC.MODIFY
            ? this.select(fm.match, emergency, OFPP.NONE)
            : this.entries.filter(same);
        if (targets.length === 0) return this.add(fm, canon, exact, key, emergency);
        for (const e of targets) {
          e.actions = fm.actions;
          e.cookie = fm.cookie;
        }
        return { removedCookies: [] };
      }
      case OFPFC.DELETE:
      case OFPFC.DELETE_STRICT: {
        // EMERG: the emergency table only; without it both tables (normal first).
        const tables = emergency ? [true] : [false, true];
        const targets = tables
          .flatMap((emerg) =>
            fm.command === OFPFC.DELETE
              ? this.select(fm.match, emerg, OFPP.NONE)
              : this.entries.filter(
                  (e) =>
                    e.emergency === emerg &&
                    e.key === key &&
                    e.exact === exact &&
                    (exact || e.priority === fm.priority),
                ),
          )
          .filter((e) => fm.outPort === OFPP.NONE || outputsTo(e.actions, fm.outPort));
        this.entries = this.entries.filter((e) => !targets.includes(e));
        return {
          removedCookies: targets
            .filter((e) => !e.emergency && (e.flags & OFPFF.SEND_FLOW_REM) !== 0)
            .map((e) => e.cookie),
        };
      }
      default:
        return { error: OFPFMFC.BAD_COMMAND, removedCookies: [] };
    }
  }

  private add(
    fm: FlowMod,
    canon: Canon,
    exact: boolean,
    key: string,
    emergency: boolean,
  ): ModelResult {
    if (emergency && (fm.idleTimeout !== 0 || fm.hardTimeout !== 0)) {
      return { error: OFPFMFC.BAD_EMERG_TIMEOUT, removedCookies: [] };
    }
    const table = this.entries.filter((e) => e.emergency === emergency);
    // Same priority and a packet both could match (exact entries, all at 65535, included).
    if (
      (fm.flags & OFPFF.CHECK_OVERLAP) !== 0 &&
      table.some((e) => e.priority === fm.priority && canonsOverlap(e.canon, canon))
    ) {
      return { error: OFPFMFC.OVERLAP, removedCookies: [] };
    }
    const old = table.find(
      (e) => e.key === key && e.exact === exact && (exact || e.priority === fm.priority),
    );
    if (old) this.entries = this.entries.filter((e) => e !== old);
    else if (table.length >= this.maxEntries)
      return { error: OFPFMFC.ALL_TABLES_FULL, removedCookies: [] };
    this.entries.push({
      canon,
      key,
      exact,
      priority: fm.priority,
      cookie: fm.cookie,
      actions: fm.actions,
      flags: fm.flags,
      emergency,
      seq: this.seq++,
    });
    return { removedCookies: [] };
  }
}

function outputsTo(actions: Action[], port: number): boolean {
  return actions.some(
    (a) => (a.type === OFPAT.OUTPUT || a.type === OFPAT.ENQUEUE) && a.port === port,
  );
}
