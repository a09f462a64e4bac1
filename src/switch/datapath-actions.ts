// OpenFlow 1.0 actions in the datapath's own model (src/datapath/actions.ts). The datapath
// compiles the result once per flow entry (Datapath options.actionsOf) or per packet_out.
// Lists reach this only after checkActions (switch-actions.ts): ENQUEUE and vendor actions
// are refused there, so meeting one here is a fault, not a packet to forward.
import type { DatapathAction } from "../datapath/actions.js";
import { OFPAT, OFPP } from "../openflow/of10/constants.js";
import type { Action } from "../openflow/of10/types.js";

// Virtual ports carry no argument but CONTROLLER's max_len: one shared (immutable) action each.
const VIRTUAL_OUTPUT = new Map<number, DatapathAction>([
  [OFPP.IN_PORT, { kind: "in-port" }],
  [OFPP.FLOOD, { kind: "flood" }],
  [OFPP.ALL, { kind: "all" }],
  [OFPP.NORMAL, { kind: "normal" }],
  [OFPP.TABLE, { kind: "table" }],
  [OFPP.LOCAL, { kind: "local" }],
]);

/** OFPAT_OUTPUT; undefined for port numbers that name nowhere (OFPP_NONE). */
function output(port: number, maxLen: number): DatapathAction | undefined {
  // OpenFlow port numbers are the datapath's (PORT_NO_LIMIT equals OFPP_MAX).
  if (port < OFPP.MAX) return { kind: "output", port };
  if (port === OFPP.CONTROLLER) return { kind: "controller", maxLen };
  return VIRTUAL_OUTPUT.get(port);
}

function translate(a: Action): DatapathAction | undefined {
  switch (a.type) {
    case OFPAT.OUTPUT:
      return output(a.port, a.maxLen);
    case OFPAT.SET_VLAN_VID:
      return { kind: "set-vlan-vid", vid: a.vlanVid };
    case OFPAT.SET_VLAN_PCP:
      return { kind: "set-vlan-pcp", pcp: a.vlanPcp };
    case OFPAT.STRIP_VLAN:
      return { kind: "strip-vlan" };
    case OFPAT.SET_DL_SRC:
      return { kind: "set-dl-src", mac: a.dlAddr };
    case OFPAT.SET_DL_DST:
      return { kind: "set-dl-dst", mac: a.dlAddr };
    case OFPAT.SET_NW_SRC:
      return { kind: "set-nw-src", addr: a.nwAddr };
    case OFPAT.SET_NW_DST:
      return { kind: "set-nw-dst", addr: a.nwAddr };
    case OFPAT.SET_NW_TOS:
      return { kind: "set-nw-tos", tos: a.nwTos };
    case OFPAT.SET_TP_SRC:
      return { kind: "set-tp-src", port: a.tpPort };
    case OFPAT.SET_TP_DST:
      return { kind: "set-tp-dst", port: a.tpPort };
    case OFPAT.ENQUEUE:
    case OFPAT.VENDOR:
      throw new Error(`action type ${a.type} reached the datapath: checkActions refuses it`);
  }
}

/** The datapath's form of a checked OF1.0 action list, in order. */
export function toDatapathActions(actions: readonly Action[]): DatapathAction[] {
  const out: DatapathAction[] = [];
  for (const a of actions) {
    const d = translate(a);
    if (d !== undefined) out.push(d);
  }
  return out;
}
