// What the switch says about itself: FEATURES_REPLY fields, DESC stats, the datapath id.
import { OFPAT, OFPC } from "../openflow/of10/constants.js";
import type { DescStats, MacAddress } from "../openflow/of10/types.js";

/** Buffers per controller session (as OVS's pktbuf). */
export const N_BUFFERS = 256;
export const N_TABLES = 1;

/** What ofswitch implements: flow, table and port stats, ARP fields matched in nw_src/dst.
 * No queues (QUEUE_STATS), no STP, no IP reassembly. */
export const CAPABILITIES =
  OFPC.FLOW_STATS | OFPC.TABLE_STATS | OFPC.PORT_STATS | OFPC.ARP_MATCH_IP;

/** The actions the datapath executes. ENQUEUE is absent: there are no queues. */
export const SUPPORTED_ACTIONS: readonly number[] = [
  OFPAT.OUTPUT,
  OFPAT.SET_VLAN_VID,
  OFPAT.SET_VLAN_PCP,
  OFPAT.STRIP_VLAN,
  OFPAT.SET_DL_SRC,
  OFPAT.SET_DL_DST,
  OFPAT.SET_NW_SRC,
  OFPAT.SET_NW_DST,
  OFPAT.SET_NW_TOS,
  OFPAT.SET_TP_SRC,
  OFPAT.SET_TP_DST,
];

export const ACTIONS_BITMAP = SUPPORTED_ACTIONS.reduce((bits, t) => bits | (1 << t), 0);

/** As Open vSwitch: the datapath id is the bridge MAC (here the first port's) in the low
 * 48 bits. */
export function datapathIdFromMac(mac: MacAddress): bigint {
  const hex = mac.replace(/:/g, "");
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) throw new Error(`bad MAC address ${mac}`);
  return BigInt(`0x${hex}`);
}

export function dpidToString(dpid: bigint): string {
  return dpid.toString(16).padStart(16, "0");
}

export const SOFTWARE_VERSION = "0.1.0";

/** DESC stats; `frameIo` names the frame I/O backend the ports use (e.g. "AF_PACKET"). */
export function describeSwitch(datapathId: bigint, frameIo: string, dpDesc?: string): DescStats {
  return {
    mfrDesc: "ofswitch project",
    hwDesc: `ofswitch software switch (Node.js ${process.versions.node}, frame I/O: ${frameIo})`,
    swDesc: `ofswitch ${SOFTWARE_VERSION}`,
    serialNum: "None",
    dpDesc: dpDesc ?? `ofswitch dpid ${dpidToString(datapathId)}`,
  };
}
