// The switch's OF1.0 view of a flow table, for unit tests without sockets: FLOW_MODs go through
// the switch's translation (src/switch/flow-mod.ts) and stats, FLOW_REMOVED bodies and refusals
// come back in wire terms from its builders (src/switch/switch-stats.ts). Plus builders for
// matches and FLOW_MODs.
import {
  OFP_DEFAULT_PRIORITY,
  OFP_NO_BUFFER,
  OFP_VLAN_NONE,
  OFPAT,
  OFPFC,
  OFPFW,
  OFPP,
  OFPST,
} from "../../src/openflow/of10/constants.js";
import { OfpError } from "../../src/openflow/of10/errors.js";
import { matchAll } from "../../src/openflow/of10/match.js";
import type {
  Action,
  AggregateStats,
  FlowMod,
  FlowRemoved,
  FlowStats,
  Match,
  TableStats,
} from "../../src/openflow/of10/types.js";
import type { FlowKey } from "../../src/packet/flow-key.js";
import { FlowTable, type FlowTableOptions } from "../../src/flowtable/flow-table.js";
import {
  applyFlowMod,
  type OfActions,
  type OfFlowEntry,
  type OfFlowTable,
  type OfRemoval,
} from "../../src/switch/flow-mod.js";
import {
  aggregateStats,
  flowRemovedBodies,
  flowRemovedOf,
  lazyFlowStats,
  sendsFlowRemoved,
  tableStats,
} from "../../src/switch/switch-stats.js";

export { ip, keyOf, ManualClock, TCP_PACKET, type PacketFields } from "../flowtable/helpers.js";

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

export const output = (port: number): Action => ({ type: OFPAT.OUTPUT, port, maxLen: 0 });

/** A FLOW_MOD body: ADD, default priority, no timeouts or flags, output to port 1. */
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

export interface FlowModReply {
  /** The OFPT_ERROR (type, code) the switch would send. */
  error?: { errType: number; code: number };
  /** The FLOW_REMOVED bodies the switch would send. */
  removed: FlowRemoved[];
  entry?: OfFlowEntry;
}

/** A FLOW_REMOVED body and whether the switch sends it. */
export type Removed = FlowRemoved & { sendFlowRem: boolean };

export class OfTable {
  readonly table: OfFlowTable;

  constructor(opts: FlowTableOptions = {}) {
    this.table = new FlowTable<OfActions>(opts);
  }

  applyFlowMod(fm: FlowMod): FlowModReply {
    try {
      const r = applyFlowMod(this.table, fm);
      return { removed: flowRemovedBodies(r.removed, this.table.now), entry: r.entry };
    } catch (e) {
      if (!(e instanceof OfpError)) throw e;
      return { error: { errType: e.errType, code: e.code }, removed: [] };
    }
  }

  flowStats(match: Match, tableId: number, outPort: number): FlowStats[] {
    return [...lazyFlowStats(this.table, { statsType: OFPST.FLOW, match, tableId, outPort })];
  }

  aggregateStats(match: Match, tableId: number, outPort: number): AggregateStats {
    return aggregateStats(this.table, match, tableId, outPort);
  }

  tableStats(): TableStats[] {
    return tableStats(this.table);
  }

  /** Every expired entry, reported or not. */
  expire(): Removed[] {
    return this.removedForms(this.table.expire());
  }

  setEmergencyMode(on: boolean): Removed[] {
    return this.removedForms(this.table.setEmergencyMode(on));
  }

  private removedForms(removed: OfRemoval[]): Removed[] {
    return removed.map(({ entry, reason }) => ({
      ...flowRemovedOf(entry, reason, this.table.now),
      sendFlowRem: sendsFlowRemoved(entry),
    }));
  }

  lookup(key: FlowKey): OfFlowEntry | undefined {
    return this.table.lookup(key);
  }

  recordHit(e: OfFlowEntry, bytes: number): void {
    this.table.recordHit(e, bytes);
  }

  tick(): number {
    return this.table.tick();
  }

  nextExpiryMs(): number | undefined {
    return this.table.nextExpiryMs();
  }

  get activeCount(): number {
    return this.table.activeCount;
  }

  get emergencyCount(): number {
    return this.table.emergencyCount;
  }
}
