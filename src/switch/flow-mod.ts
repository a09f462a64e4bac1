// FLOW_MOD -> flow table operations, OF1.0 as Open vSwitch implements it (docs/flowtable.md,
// "FLOW_MOD"): the normalised match, the flags, the strictness, the out_port filter and which of
// the two tables a command acts on are decided here; the table's refusals become
// FLOW_MOD_FAILED codes.
import type { FlowEntry } from "../flowtable/flow-entry.js";
import type { AddError, FlowTable, Removal, Selector } from "../flowtable/flow-table.js";
import { rankedByPriority, type RuleMatch } from "../flowtable/rule-match.js";
import { OFPAT, OFPFC, OFPFF, OFPFMFC, OFPFW, OFPP } from "../openflow/of10/constants.js";
import { OfpError } from "../openflow/of10/errors.js";
import type { Action, FlowMod } from "../openflow/of10/types.js";
import { ruleMatchOf } from "./flow-match.js";

/** The switch's rules carry OF1.0 action lists. */
export type OfActions = readonly Action[];
export type OfFlowTable = FlowTable<OfActions>;
export type OfFlowEntry = FlowEntry<OfActions>;
export type OfRemoval = Removal<OfActions>;

export interface FlowModOutcome {
  /** Entries the command removed (the caller sends FLOW_REMOVED for those that asked). */
  removed: OfRemoval[];
  /** The added entry, or the first modified one: where a buffered packet should go. */
  entry?: OfFlowEntry;
}

type FlowModFailedCode = (typeof OFPFMFC)[keyof typeof OFPFMFC];

const ADD_ERRORS: Record<AddError, [FlowModFailedCode, string]> = {
  "table-full": [OFPFMFC.ALL_TABLES_FULL, "the flow table is full"],
  overlap: [OFPFMFC.OVERLAP, "overlaps an entry of the same priority"],
  "emergency-timeout": [OFPFMFC.BAD_EMERG_TIMEOUT, "emergency entries take no timeouts"],
};

/** Has an OUTPUT (or ENQUEUE) action to `port`: the OF1.0 out_port filter. */
export function outputsTo(actions: OfActions, port: number): boolean {
  for (const a of actions) {
    if ((a.type === OFPAT.OUTPUT || a.type === OFPAT.ENQUEUE) && a.port === port) return true;
  }
  return false;
}

/** The table filter for an out_port field (OFPP_NONE: no filter). */
export function outPortFilter(outPort: number): ((actions: OfActions) => boolean) | undefined {
  return outPort === OFPP.NONE ? undefined : (actions) => outputsTo(actions, outPort);
}

/**
 * The priority a FLOW_MOD acts with: 65535 when its OF1.0 wildcards are 0, whatever it sent,
 * for every command ("an entry that specifies an exact match is always the highest
 * priority", OF1.0 §3.4; Open vSwitch's ofputil_decode_flow_mod and the reference switch do the
 * same). Only the wire wildcards count (unknown bits ignored), not what normalisation adds.
 */
export function flowModPriority(fm: FlowMod): number {
  return (fm.match.wildcards & OFPFW.ALL) === 0 ? 0xffff : fm.priority & 0xffff;
}

/**
 * The table's match for a FLOW_MOD acting with `priority`. An entry that specifies every field
 * that applies is exact (the exact table, above every other entry) only at priority 65535; at
 * any other priority it ranks by its priority, as in Open vSwitch, where only the wire's
 * wildcards 0 make a FLOW_MOD "exact" (flowModPriority) and every entry ranks by priority.
 */
function tableMatch(fm: FlowMod, priority: number): RuleMatch {
  const m = ruleMatchOf(fm.match);
  return priority === 0xffff ? m : rankedByPriority(m);
}

/**
 * Carries out a FLOW_MOD whose actions were already checked; throws the FLOW_MOD_FAILED error
 * when the table refuses it.
 */
export function applyFlowMod(table: OfFlowTable, fm: FlowMod): FlowModOutcome {
  const emergency = (fm.flags & OFPFF.EMERG) !== 0;
  const priority = flowModPriority(fm);
  switch (fm.command) {
    case OFPFC.ADD:
      return add(table, fm, tableMatch(fm, priority), priority);
    case OFPFC.MODIFY:
    case OFPFC.MODIFY_STRICT: {
      // New actions and cookie; EMERG picks the emergency table, as in the reference switch.
      // Nothing selected: the flow is added (OF1.0 §4.6).
      const match = tableMatch(fm, priority);
      const sel: Selector<OfActions> = {
        match,
        tables: emergency ? "emergency" : "normal",
        strict: fm.command === OFPFC.MODIFY_STRICT,
        priority,
      };
      const modified = table.modify(sel, fm.actions, fm.cookie);
      return modified.length === 0
        ? add(table, fm, match, priority)
        : { removed: [], entry: modified[0] };
    }
    case OFPFC.DELETE:
    case OFPFC.DELETE_STRICT:
      // With EMERG only the emergency table (as the reference switch); without, the normal
      // table and then the emergency one, so that a delete of everything leaves no entry of any
      // kind and a controller that cannot send EMERG (ovs-ofctl) can still remove one.
      return {
        removed: table.delete({
          match: tableMatch(fm, priority),
          tables: emergency ? "emergency" : "both",
          strict: fm.command === OFPFC.DELETE_STRICT,
          priority,
          where: outPortFilter(fm.outPort),
        }),
      };
    default:
      throw OfpError.flowModFailed(OFPFMFC.BAD_COMMAND, `command ${fm.command}`);
  }
}

function add(table: OfFlowTable, fm: FlowMod, match: RuleMatch, priority: number): FlowModOutcome {
  const r = table.add({
    match,
    priority,
    cookie: fm.cookie,
    idleTimeout: fm.idleTimeout & 0xffff,
    hardTimeout: fm.hardTimeout & 0xffff,
    actions: fm.actions,
    sendFlowRemoved: (fm.flags & OFPFF.SEND_FLOW_REM) !== 0,
    checkOverlap: (fm.flags & OFPFF.CHECK_OVERLAP) !== 0,
    emergency: (fm.flags & OFPFF.EMERG) !== 0,
  });
  if (r.error !== undefined) throw OfpError.flowModFailed(...ADD_ERRORS[r.error]);
  return { removed: [], entry: r.entry };
}
