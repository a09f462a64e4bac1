// STATS_REQUEST bodies answered from the flow table and the datapath, and the wire form of the
// table's entries (flow stats, FLOW_REMOVED). Unknown ports in PORT stats give an empty reply
// (as OVS); there are no queues, so QUEUE stats are empty for OFPQ_ALL and BAD_QUEUE for a named
// queue, BAD_PORT for a port that does not exist. FLOW stats are produced lazily, entry by
// entry, as the channel asks for the next message.
import {
  OFPBRC,
  OFPFW,
  OFPP,
  OFPQ_ALL,
  OFPQOFC,
  OFPRR,
  OFPST,
  OFPTT,
} from "../openflow/of10/constants.js";
import { OfpError } from "../openflow/of10/errors.js";
import type { StatsReplyBody, StatsRequestBody } from "../openflow/of10/messages.js";
import type {
  Action,
  AggregateStats,
  DescStats,
  FlowRemoved,
  FlowStats,
  Match,
  TableStats,
} from "../openflow/of10/types.js";
import type { RemovalReason, Selector, TableChoice } from "../flowtable/flow-table.js";
import type { Datapath } from "../datapath/datapath.js";
import { portStats } from "./port-wire.js";
import { reportedMatch, ruleMatchOf } from "./flow-match.js";
import {
  outPortFilter,
  type OfActions,
  type OfFlowEntry,
  type OfFlowTable,
  type OfRemoval,
} from "./flow-mod.js";

/** The name TABLE stats give the one table (as Open vSwitch names its tables). */
export const TABLE_NAME = "classifier";

export interface StatsSources {
  table: OfFlowTable;
  datapath: Datapath<OfFlowEntry>;
  desc(): DescStats;
}

const REMOVAL_REASONS: Record<RemovalReason, number> = {
  "idle-timeout": OFPRR.IDLE_TIMEOUT,
  "hard-timeout": OFPRR.HARD_TIMEOUT,
  delete: OFPRR.DELETE,
};

/** Which tables a flow or aggregate request's table_id names: 0 the normal one, 0xfe
 * (OFPTT_EMERG) the emergency one, 0xff (OFPTT_ALL) both; any other id none. */
function tablesOf(tableId: number): TableChoice | undefined {
  if (tableId === 0) return "normal";
  if (tableId === OFPTT.EMERG) return "emergency";
  if (tableId === OFPTT.ALL) return "both";
  return undefined;
}

/** The table selection a FLOW or AGGREGATE request makes; undefined when it names no table. */
export function statsSelector(
  match: Match,
  tableId: number,
  outPort: number,
): Selector<OfActions> | undefined {
  const tables = tablesOf(tableId);
  if (tables === undefined) return undefined;
  return { match: ruleMatchOf(match), tables, where: outPortFilter(outPort) };
}

/** The nanoseconds OF1.0 reports beside `sec` whole seconds of an age of `ms`. */
function nsecOf(ms: number, sec: number): number {
  return Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6));
}

/** An entry's age as OF1.0 reports it: whole seconds plus nanoseconds. */
export function durationOf(
  e: OfFlowEntry,
  nowMs: number,
): { durationSec: number; durationNsec: number } {
  const ms = e.ageMs(nowMs);
  const durationSec = Math.floor(ms / 1000);
  return { durationSec, durationNsec: nsecOf(ms, durationSec) };
}

/** One entry of a flow dump; a class for the reason ReportedMatch is (flow-match.ts). */
class DumpedFlow implements FlowStats {
  constructor(
    public tableId: number,
    public match: Match,
    public durationSec: number,
    public durationNsec: number,
    public priority: number,
    public idleTimeout: number,
    public hardTimeout: number,
    public cookie: bigint,
    public packetCount: bigint,
    public byteCount: bigint,
    public actions: Action[],
  ) {}
}

/**
 * An entry as flow stats. The actions are the entry's own array, not a copy: for a reply
 * encoded at once (a large dump then makes less garbage); the caller must not change them.
 */
export function flowStatsOf(e: OfFlowEntry, nowMs: number): FlowStats {
  const ms = e.ageMs(nowMs);
  const sec = Math.floor(ms / 1000);
  return new DumpedFlow(
    e.emergency ? OFPTT.EMERG : 0,
    reportedMatch(e),
    sec,
    nsecOf(ms, sec),
    e.priority,
    e.idleTimeout,
    e.hardTimeout,
    e.cookie,
    BigInt(e.packets),
    BigInt(e.bytes),
    e.actions as Action[],
  );
}

export function flowRemovedOf(e: OfFlowEntry, reason: RemovalReason, nowMs: number): FlowRemoved {
  return {
    match: reportedMatch(e),
    cookie: e.cookie,
    priority: e.priority,
    reason: REMOVAL_REASONS[reason],
    ...durationOf(e, nowMs),
    idleTimeout: e.idleTimeout,
    packetCount: BigInt(e.packets),
    byteCount: BigInt(e.bytes),
  };
}

/** Whether the entry's removal is reported: it asked for it (OFPFF_SEND_FLOW_REM) and is not
 * an emergency entry (those never send FLOW_REMOVED, OF1.0 §4.6). */
export function sendsFlowRemoved(e: OfFlowEntry): boolean {
  return e.sendFlowRemoved && !e.emergency;
}

/** The FLOW_REMOVED bodies for the removed entries that are reported. */
export function flowRemovedBodies(removed: readonly OfRemoval[], nowMs: number): FlowRemoved[] {
  const out: FlowRemoved[] = [];
  for (const { entry, reason } of removed) {
    if (sendsFlowRemoved(entry)) out.push(flowRemovedOf(entry, reason, nowMs));
  }
  return out;
}

/**
 * The FLOW stats entries a request selects, made one at a time from a snapshot of the selection
 * (an entry deleted before its turn is left out; counters are read when its turn comes).
 */
export function* lazyFlowStats(
  table: OfFlowTable,
  req: Extract<StatsRequestBody, { statsType: typeof OFPST.FLOW }>,
): Generator<FlowStats> {
  const sel = statsSelector(req.match, req.tableId, req.outPort);
  if (sel === undefined) return;
  let n = 0;
  for (const e of table.select(sel)) {
    if (e.removed) continue;
    if ((n++ & 1023) === 0) table.tick();
    yield flowStatsOf(e, table.now); // encoded at once: the actions need no copy
  }
}

export function aggregateStats(
  table: OfFlowTable,
  match: Match,
  tableId: number,
  outPort: number,
): AggregateStats {
  const sel = statsSelector(match, tableId, outPort);
  const a = sel === undefined ? { packets: 0, bytes: 0, flows: 0 } : table.aggregate(sel);
  return { packetCount: BigInt(a.packets), byteCount: BigInt(a.bytes), flowCount: a.flows };
}

/** TABLE stats: table 0 only (the emergency table is not a flow table of its own). */
export function tableStats(table: OfFlowTable): TableStats[] {
  return [
    {
      tableId: 0,
      name: TABLE_NAME,
      wildcards: OFPFW.ALL, // every OF1.0 field can be wildcarded
      maxEntries: table.maxEntries,
      activeCount: table.activeCount,
      lookupCount: BigInt(table.lookupCount),
      matchedCount: BigInt(table.matchedCount),
    },
  ];
}

/** Every stats request but FLOW (see lazyFlowStats). */
export function answerStats(
  req: Exclude<StatsRequestBody, { statsType: typeof OFPST.FLOW }>,
  src: StatsSources,
): StatsReplyBody {
  switch (req.statsType) {
    case OFPST.DESC:
      return { statsType: OFPST.DESC, desc: src.desc() };
    case OFPST.AGGREGATE:
      return {
        statsType: OFPST.AGGREGATE,
        aggregate: aggregateStats(src.table, req.match, req.tableId, req.outPort),
      };
    case OFPST.TABLE:
      return { statsType: OFPST.TABLE, tables: tableStats(src.table) };
    case OFPST.PORT:
      return { statsType: OFPST.PORT, ports: portStats(src.datapath, req.portNo) };
    case OFPST.QUEUE:
      if (req.portNo !== OFPP.ALL && src.datapath.port(req.portNo) === undefined) {
        throw OfpError.queueOpFailed(OFPQOFC.BAD_PORT, `port ${req.portNo}`);
      }
      if (req.queueId !== OFPQ_ALL) {
        throw OfpError.queueOpFailed(OFPQOFC.BAD_QUEUE, `queue ${req.queueId}: no queues`);
      }
      return { statsType: OFPST.QUEUE, queues: [] };
    case OFPST.VENDOR:
      throw OfpError.badRequest(OFPBRC.BAD_VENDOR, `vendor stats 0x${req.vendor.toString(16)}`);
  }
}
