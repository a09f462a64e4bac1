// Validation of a FLOW_MOD's or PACKET_OUT's action list before it takes effect, with the
// OF1.0 error codes Open vSwitch uses. Output ports: physical numbers below OFPP_MAX and the
// virtual ports; OFPP_TABLE only in a PACKET_OUT (a flow that resubmits to its own table would
// loop). As in OVS (ofpact_check_output_port), a port number need not exist: interfaces come
// and go under the same number, and output to an absent port drops the packet and counts it.
import { actionsLength } from "../openflow/of10/actions.js";
import { OFP_MAX_MESSAGE_LEN, OFPAT, OFPBAC, OFPP } from "../openflow/of10/constants.js";
import { OfpError } from "../openflow/of10/errors.js";
import { FLOW_STATS, STATS_HEADER } from "../openflow/of10/structs.js";
import type { Action } from "../openflow/of10/types.js";

export interface ActionCheck {
  packetOut: boolean;
}

const VIRTUAL_OUTPUTS = new Set<number>([
  OFPP.IN_PORT,
  OFPP.NORMAL,
  OFPP.FLOOD,
  OFPP.ALL,
  OFPP.CONTROLLER,
  OFPP.LOCAL,
]);

function checkOutPort(port: number, ctx: ActionCheck): void {
  if (port === OFPP.TABLE && ctx.packetOut) return;
  if (VIRTUAL_OUTPUTS.has(port)) return;
  // Any number below OFPP_MAX, 0 included (OVS: "ofp_to_u16(port) < max_ports").
  if (port >= 0 && port < OFPP.MAX) return;
  throw OfpError.badAction(OFPBAC.BAD_OUT_PORT, `output to port ${port}`);
}

/** Throws the OfpError (without data) for the first action that cannot be carried out. */
export function checkActions(actions: readonly Action[], ctx: ActionCheck): void {
  for (const a of actions) {
    switch (a.type) {
      case OFPAT.OUTPUT:
        checkOutPort(a.port, ctx);
        break;
      case OFPAT.ENQUEUE:
        checkOutPort(a.port, ctx);
        throw OfpError.badAction(OFPBAC.BAD_QUEUE, `queue ${a.queueId}: this switch has no queues`);
      case OFPAT.SET_VLAN_VID:
        if (a.vlanVid > 0xfff) throw OfpError.badAction(OFPBAC.BAD_ARGUMENT, `vlan ${a.vlanVid}`);
        break;
      case OFPAT.SET_VLAN_PCP:
        if (a.vlanPcp > 7) throw OfpError.badAction(OFPBAC.BAD_ARGUMENT, `pcp ${a.vlanPcp}`);
        break;
      case OFPAT.SET_NW_TOS:
        // OF1.0 sets the DSCP bits only; the ECN bits must be zero.
        if ((a.nwTos & 3) !== 0) throw OfpError.badAction(OFPBAC.BAD_ARGUMENT, `tos ${a.nwTos}`);
        break;
      case OFPAT.VENDOR:
        throw OfpError.badAction(OFPBAC.BAD_VENDOR, `vendor action 0x${a.vendor.toString(16)}`);
      default:
        break;
    }
  }
}

/** The longest action list whose ofp_flow_stats entry still fits one STATS_REPLY (65,435 bytes:
 * 8,179 OUTPUT actions; a FLOW_MOD can carry up to 65,463). */
export const MAX_REPORTABLE_ACTIONS_LEN = OFP_MAX_MESSAGE_LEN - STATS_HEADER.size - FLOW_STATS.size;

/**
 * A flow entry must be reportable in flow stats. Open vSwitch 3.1 accepts a longer list and then
 * leaves the entry out of every OF1.0 flow dump ("Flow exceeded the maximum flow statistics reply
 * size"); here it is refused up front with the OF1.0 code for it, OFPBAC_TOO_MANY ("can't handle
 * this many actions", OVS's OFPERR_OFPBAC_TOO_MANY, (2,7)).
 */
export function checkReportable(actions: readonly Action[]): void {
  const len = actionsLength(actions);
  if (len > MAX_REPORTABLE_ACTIONS_LEN) {
    throw OfpError.badAction(
      OFPBAC.TOO_MANY,
      `${len} bytes of actions: a flow stats entry has room for ${MAX_REPORTABLE_ACTIONS_LEN}`,
    );
  }
}
