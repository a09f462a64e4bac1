// Typed control-path objects shared by the codec, the flow table and the datapath.
// MAC addresses are lower-case "aa:bb:cc:dd:ee:ff" strings; IPv4 addresses are unsigned
// 32-bit numbers in host order; 64-bit fields are bigint.
import type { OFPAT } from "./constants.js";

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
