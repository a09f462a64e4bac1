// OpenFlow 1.0 (wire version 0x01) protocol constants, as named in include/openflow/openflow.h.
// Plain `as const` objects rather than TS enums: they erase to literals and work with
// verbatimModuleSyntax, and `typeof X[keyof typeof X]` gives the union of values.

export const OFP_VERSION = 0x01;
export const OFP_TCP_PORT = 6653;
export const OFP_MAX_PORT_NAME_LEN = 16;
export const OFP_ETH_ALEN = 6;
export const OFP_MAX_TABLE_NAME_LEN = 32;
export const DESC_STR_LEN = 256;
export const SERIAL_NUM_LEN = 32;
export const OFP_NO_BUFFER = 0xffffffff;
export const OFP_DEFAULT_MISS_SEND_LEN = 128;
export const OFP_VLAN_NONE = 0xffff;
export const OFP_DL_TYPE_ETH2_CUTOFF = 0x0600;
export const OFP_DL_TYPE_NOT_ETH_TYPE = 0x05ff;
export const OFP_FLOW_PERMANENT = 0;
export const OFP_DEFAULT_PRIORITY = 0x8000;
export const OFPQ_ALL = 0xffffffff;
export const OFPQ_MIN_RATE_UNCFG = 0xffff;

export type ValueOf<T> = T[keyof T];

export const OFPT = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  VENDOR: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7,
  GET_CONFIG_REPLY: 8,
  SET_CONFIG: 9,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  PACKET_OUT: 13,
  FLOW_MOD: 14,
  PORT_MOD: 15,
  STATS_REQUEST: 16,
  STATS_REPLY: 17,
  BARRIER_REQUEST: 18,
  BARRIER_REPLY: 19,
  QUEUE_GET_CONFIG_REQUEST: 20,
  QUEUE_GET_CONFIG_REPLY: 21,
} as const;
export type OfpType = ValueOf<typeof OFPT>;

/** Port numbers: physical ports are 1..OFPP_MAX, the rest are virtual. */
export const OFPP = {
  MAX: 0xff00,
  IN_PORT: 0xfff8,
  TABLE: 0xfff9,
  NORMAL: 0xfffa,
  FLOOD: 0xfffb,
  ALL: 0xfffc,
  CONTROLLER: 0xfffd,
  LOCAL: 0xfffe,
  NONE: 0xffff,
} as const;

export const OFPPC = {
  PORT_DOWN: 1 << 0,
  NO_STP: 1 << 1,
  NO_RECV: 1 << 2,
  NO_RECV_STP: 1 << 3,
  NO_FLOOD: 1 << 4,
  NO_FWD: 1 << 5,
  NO_PACKET_IN: 1 << 6,
} as const;

export const OFPPS = {
  LINK_DOWN: 1 << 0,
  STP_LISTEN: 0 << 8,
  STP_LEARN: 1 << 8,
  STP_FORWARD: 2 << 8,
  STP_BLOCK: 3 << 8,
  STP_MASK: 3 << 8,
} as const;

export const OFPPF = {
  "10MB_HD": 1 << 0,
  "10MB_FD": 1 << 1,
  "100MB_HD": 1 << 2,
  "100MB_FD": 1 << 3,
  "1GB_HD": 1 << 4,
  "1GB_FD": 1 << 5,
  "10GB_FD": 1 << 6,
  COPPER: 1 << 7,
  FIBER: 1 << 8,
  AUTONEG: 1 << 9,
  PAUSE: 1 << 10,
  PAUSE_ASYM: 1 << 11,
} as const;

export const OFPC = {
  FLOW_STATS: 1 << 0,
  TABLE_STATS: 1 << 1,
  PORT_STATS: 1 << 2,
  STP: 1 << 3,
  RESERVED: 1 << 4,
  IP_REASM: 1 << 5,
  QUEUE_STATS: 1 << 6,
  ARP_MATCH_IP: 1 << 7,
} as const;

/** ofp_config_flags: IP fragment handling. */
export const OFPC_FRAG = {
  NORMAL: 0,
  DROP: 1,
  REASM: 2,
  MASK: 3,
} as const;

export const OFPAT = {
  OUTPUT: 0,
  SET_VLAN_VID: 1,
  SET_VLAN_PCP: 2,
  STRIP_VLAN: 3,
  SET_DL_SRC: 4,
  SET_DL_DST: 5,
  SET_NW_SRC: 6,
  SET_NW_DST: 7,
  SET_NW_TOS: 8,
  SET_TP_SRC: 9,
  SET_TP_DST: 10,
  ENQUEUE: 11,
  VENDOR: 0xffff,
} as const;
export type OfpActionType = ValueOf<typeof OFPAT>;

export const OFPFW = {
  IN_PORT: 1 << 0,
  DL_VLAN: 1 << 1,
  DL_SRC: 1 << 2,
  DL_DST: 1 << 3,
  DL_TYPE: 1 << 4,
  NW_PROTO: 1 << 5,
  TP_SRC: 1 << 6,
  TP_DST: 1 << 7,
  NW_SRC_SHIFT: 8,
  NW_SRC_BITS: 6,
  NW_SRC_MASK: 0x3f << 8,
  NW_SRC_ALL: 32 << 8,
  NW_DST_SHIFT: 14,
  NW_DST_BITS: 6,
  NW_DST_MASK: 0x3f << 14,
  NW_DST_ALL: 32 << 14,
  DL_VLAN_PCP: 1 << 20,
  NW_TOS: 1 << 21,
  ALL: (1 << 22) - 1,
} as const;

export const OFPFC = {
  ADD: 0,
  MODIFY: 1,
  MODIFY_STRICT: 2,
  DELETE: 3,
  DELETE_STRICT: 4,
} as const;
export type FlowModCommand = ValueOf<typeof OFPFC>;

export const OFPFF = {
  SEND_FLOW_REM: 1 << 0,
  CHECK_OVERLAP: 1 << 1,
  EMERG: 1 << 2,
} as const;

export const OFPR = {
  NO_MATCH: 0,
  ACTION: 1,
} as const;

export const OFPRR = {
  IDLE_TIMEOUT: 0,
  HARD_TIMEOUT: 1,
  DELETE: 2,
} as const;

export const OFPPR = {
  ADD: 0,
  DELETE: 1,
  MODIFY: 2,
} as const;

export const OFPST = {
  DESC: 0,
  FLOW: 1,
  AGGREGATE: 2,
  TABLE: 3,
  PORT: 4,
  QUEUE: 5,
  VENDOR: 0xffff,
} as const;
export type StatsType = ValueOf<typeof OFPST>;

export const OFPSF_REPLY_MORE = 1 << 0;

export const OFPQT = {
  NONE: 0,
  MIN_RATE: 1,
} as const;

/** Table ids with a special meaning in stats requests. */
export const OFPTT = {
  EMERG: 0xfe,
  ALL: 0xff,
} as const;

// ---- errors: ofp_error_type and each type's codes ----

export const OFPET = {
  HELLO_FAILED: 0,
  BAD_REQUEST: 1,
  BAD_ACTION: 2,
  FLOW_MOD_FAILED: 3,
  PORT_MOD_FAILED: 4,
  QUEUE_OP_FAILED: 5,
} as const;
export type ErrorType = ValueOf<typeof OFPET>;

/**
 * Errors OF1.0 has no code for, encoded as Open vSwitch does for OF1.0 peers: OFPT_ERROR type
 * NXET_VENDOR, code NXVC_VENDOR_ERROR, data = nx_vendor_error (vendor, type, code) + request.
 */
export const NX_VENDOR_ID = 0x00002320;
export const NXET_VENDOR = 0xb0c2;
export const NXVC_VENDOR_ERROR = 0;
/** (type, code) pairs OVS's error table gives for OF1.0 ("NX1.0-1.1(t,c)"). */
export const NX10_ERRORS = {
  /** OFPERR_OFPBRC_BAD_PORT: a port number that cannot be used here (e.g. packet-out in_port). */
  OFPBRC_BAD_PORT: [OFPET.BAD_REQUEST, 514],
} as const;

export const OFPHFC = {
  INCOMPATIBLE: 0,
  EPERM: 1,
} as const;

export const OFPBRC = {
  BAD_VERSION: 0,
  BAD_TYPE: 1,
  BAD_STAT: 2,
  BAD_VENDOR: 3,
  BAD_SUBTYPE: 4,
  EPERM: 5,
  BAD_LEN: 6,
  BUFFER_EMPTY: 7,
  BUFFER_UNKNOWN: 8,
} as const;

export const OFPBAC = {
  BAD_TYPE: 0,
  BAD_LEN: 1,
  BAD_VENDOR: 2,
  BAD_VENDOR_TYPE: 3,
  BAD_OUT_PORT: 4,
  BAD_ARGUMENT: 5,
  EPERM: 6,
  TOO_MANY: 7,
  BAD_QUEUE: 8,
} as const;

export const OFPFMFC = {
  ALL_TABLES_FULL: 0,
  OVERLAP: 1,
  EPERM: 2,
  BAD_EMERG_TIMEOUT: 3,
  BAD_COMMAND: 4,
  UNSUPPORTED: 5,
} as const;

export const OFPPMFC = {
  BAD_PORT: 0,
  BAD_HW_ADDR: 1,
} as const;

export const OFPQOFC = {
  BAD_PORT: 0,
  BAD_QUEUE: 1,
  EPERM: 2,
} as const;

/** The code table of each error type, for naming (type, code) pairs in logs and tests. */
export const ERROR_CODES: Readonly<Record<ErrorType, Readonly<Record<string, number>>>> = {
  [OFPET.HELLO_FAILED]: OFPHFC,
  [OFPET.BAD_REQUEST]: OFPBRC,
  [OFPET.BAD_ACTION]: OFPBAC,
  [OFPET.FLOW_MOD_FAILED]: OFPFMFC,
  [OFPET.PORT_MOD_FAILED]: OFPPMFC,
  [OFPET.QUEUE_OP_FAILED]: OFPQOFC,
};

/** Wire sizes of the fixed structs; pinned by test/ofchannel/sizes.test.ts. */
export const SIZE = {
  header: 8,
  match: 40,
  phy_port: 48,
  switch_features: 32,
  switch_config: 12,
  flow_mod: 72,
  port_mod: 32,
  packet_in: 20,
  packet_in_data_offset: 18,
  packet_out: 16,
  flow_removed: 88,
  port_status: 64,
  error_msg: 12,
  stats_request: 12,
  stats_reply: 12,
  desc_stats: 1056,
  flow_stats_request: 44,
  flow_stats: 88,
  aggregate_stats_request: 44,
  aggregate_stats_reply: 24,
  table_stats: 64,
  port_stats_request: 8,
  port_stats: 104,
  queue_stats_request: 8,
  queue_stats: 32,
  queue_get_config_request: 12,
  queue_get_config_reply: 16,
  packet_queue: 8,
  queue_prop_header: 8,
  queue_prop_min_rate: 16,
  vendor_header: 12,
  action_header: 8,
  action_output: 8,
  action_vlan_vid: 8,
  action_vlan_pcp: 8,
  action_dl_addr: 16,
  action_nw_addr: 8,
  action_nw_tos: 8,
  action_tp_port: 8,
  action_enqueue: 16,
  action_vendor_header: 8,
} as const;

/** Largest OpenFlow message: the 16-bit length field. */
export const OFP_MAX_MESSAGE_LEN = 0xffff;
