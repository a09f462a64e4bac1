// Typed control-path objects shared by the codec, the flow table and the datapath.
// MAC addresses are lower-case "aa:bb:cc:dd:ee:ff" strings; IPv4 addresses are unsigned
// 32-bit numbers in host order; 64-bit fields are bigint.
import type { OFPAT, OFPQT } from "./constants.js";

export type MacAddress = string;

/** ofp_match: all 12 fields plus the wildcard bits exactly as on the wire. */
export interface Match {
  wildcards: number;
  inPort: number;
  dlSrc: MacAddress;
  dlDst: MacAddress;
  dlVlan: number;
  dlVlanPcp: number;
  dlType: number;
  nwTos: number;
  nwProto: number;
  nwSrc: number;
  nwDst: number;
  tpSrc: number;
  tpDst: number;
}

export type Action =
  | { type: typeof OFPAT.OUTPUT; port: number; maxLen: number }
  | { type: typeof OFPAT.SET_VLAN_VID; vlanVid: number }
  | { type: typeof OFPAT.SET_VLAN_PCP; vlanPcp: number }
  | { type: typeof OFPAT.STRIP_VLAN }
  | { type: typeof OFPAT.SET_DL_SRC; dlAddr: MacAddress }
  | { type: typeof OFPAT.SET_DL_DST; dlAddr: MacAddress }
  | { type: typeof OFPAT.SET_NW_SRC; nwAddr: number }
  | { type: typeof OFPAT.SET_NW_DST; nwAddr: number }
  | { type: typeof OFPAT.SET_NW_TOS; nwTos: number }
  | { type: typeof OFPAT.SET_TP_SRC; tpPort: number }
  | { type: typeof OFPAT.SET_TP_DST; tpPort: number }
  | { type: typeof OFPAT.ENQUEUE; port: number; queueId: number }
  /** body: the bytes after the 8-byte ofp_action_vendor_header, a multiple of 8 long. */
  | { type: typeof OFPAT.VENDOR; vendor: number; body: Buffer };

/** ofp_phy_port. */
export interface PhyPort {
  portNo: number;
  hwAddr: MacAddress;
  name: string;
  config: number;
  state: number;
  curr: number;
  advertised: number;
  supported: number;
  peer: number;
}

/** The body of an OFPT_FLOW_MOD (the codec's FLOW_MOD message is this plus type and xid). */
export interface FlowMod {
  match: Match;
  cookie: bigint;
  command: number;
  idleTimeout: number;
  hardTimeout: number;
  priority: number;
  bufferId: number;
  outPort: number;
  flags: number;
  actions: Action[];
}

/** One ofp_flow_stats entry. */
export interface FlowStats {
  tableId: number;
  match: Match;
  durationSec: number;
  durationNsec: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  actions: Action[];
}

/** The body of an OFPT_FLOW_REMOVED. */
export interface FlowRemoved {
  match: Match;
  cookie: bigint;
  priority: number;
  reason: number;
  durationSec: number;
  durationNsec: number;
  idleTimeout: number;
  packetCount: bigint;
  byteCount: bigint;
}

/** ofp_aggregate_stats_reply. */
export interface AggregateStats {
  packetCount: bigint;
  byteCount: bigint;
  flowCount: number;
}

/** One ofp_table_stats entry. */
export interface TableStats {
  tableId: number;
  name: string;
  wildcards: number;
  maxEntries: number;
  activeCount: number;
  lookupCount: bigint;
  matchedCount: bigint;
}

/** One ofp_port_stats entry (all counters bigint; unknown ones are all-ones, as OF1.0 says). */
export interface PortStats {
  portNo: number;
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxDropped: bigint;
  txDropped: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxFrameErr: bigint;
  rxOverErr: bigint;
  rxCrcErr: bigint;
  collisions: bigint;
}

/** ofp_desc_stats: fixed-size NUL-padded strings on the wire. */
export interface DescStats {
  mfrDesc: string;
  hwDesc: string;
  swDesc: string;
  serialNum: string;
  dpDesc: string;
}

/** One ofp_queue_stats entry. */
export interface QueueStats {
  portNo: number;
  queueId: number;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
}

/** One ofp_queue_prop_*: OF1.0 defines only NONE (no body) and MIN_RATE (rate in 1/10 %). */
export type QueueProperty =
  { property: typeof OFPQT.NONE } | { property: typeof OFPQT.MIN_RATE; rate: number };

/** One ofp_packet_queue of a QUEUE_GET_CONFIG_REPLY. */
export interface PacketQueue {
  queueId: number;
  properties: QueueProperty[];
}
