// STATS_REQUEST bodies answered from the flow table and the datapath. Unknown ports in PORT
// stats give an empty reply (as OVS); there are no queues, so QUEUE stats are empty for
// OFPQ_ALL and BAD_QUEUE for a named queue, BAD_PORT for a port that does not exist. FLOW
// stats are produced lazily, entry by entry, as the channel asks for the next message.
import { OFPBRC, OFPP, OFPQ_ALL, OFPQOFC, OFPST } from "../openflow/of10/constants.js";
import { OfpError } from "../openflow/of10/errors.js";
import type { StatsReplyBody, StatsRequestBody } from "../openflow/of10/messages.js";
import type { DescStats, FlowStats } from "../openflow/of10/types.js";
import type { FlowTable } from "../flowtable/flow-table.js";
import type { Datapath } from "../datapath/datapath.js";
import type { FlowEntry } from "../flowtable/flow-entry.js";
import { portStats } from "./port-wire.js";

export interface StatsSources {
  table: FlowTable;
  datapath: Datapath<FlowEntry>;
  desc(): DescStats;
}

/**
 * The FLOW stats entries a request selects, made one at a time from a snapshot of the selection
 * (an entry deleted before its turn is left out; counters are read when its turn comes).
 */
export function* lazyFlowStats(
  table: FlowTable,
  req: Extract<StatsRequestBody, { statsType: typeof OFPST.FLOW }>,
): Generator<FlowStats> {
  let n = 0;
  for (const [tableId, entries] of table.statsSelection(req.match, req.tableId, req.outPort)) {
    for (const e of entries) {
      if (e.removed) continue;
      if ((n++ & 1023) === 0) table.tick();
      yield e.toFlowStats(tableId, table.now, true); // encoded at once: no copies needed
    }
  }
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
        aggregate: src.table.aggregateStats(req.match, req.tableId, req.outPort),
      };
    case OFPST.TABLE:
      return { statsType: OFPST.TABLE, tables: src.table.tableStats() };
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
