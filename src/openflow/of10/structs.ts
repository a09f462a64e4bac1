// Every OpenFlow 1.0 struct, declared once, field by field, in openflow.h order. Sizes are the
// C sizeof and are pinned against SIZE (constants.ts) by test/ofchannel/structs.test.ts.
import { mac, nested, pad, skip, str, struct, tail, u16, u32, u64, u8 } from "../layout.js";
import {
  DESC_STR_LEN,
  OFP_MAX_PORT_NAME_LEN,
  OFP_MAX_TABLE_NAME_LEN,
  SERIAL_NUM_LEN,
} from "./constants.js";

// The 8-byte ofp_header at the start of every message; its fields come from the message
// envelope, so message structs `skip` it and encodeMessage writes it.
export const HEADER = struct("ofp_header", [u8("version"), u8("type"), u16("length"), u32("xid")]);
const header = () => skip("header", 8, 4);

export const MATCH = struct("ofp_match", [
  u32("wildcards"),
  u16("inPort"),
  mac("dlSrc"),
  mac("dlDst"),
  u16("dlVlan"),
  u8("dlVlanPcp"),
  pad(1),
  u16("dlType"),
  u8("nwTos"),
  u8("nwProto"),
  pad(2),
  u32("nwSrc"),
  u32("nwDst"),
  u16("tpSrc"),
  u16("tpDst"),
]);

export const PHY_PORT = struct("ofp_phy_port", [
  u16("portNo"),
  mac("hwAddr"),
  str("name", OFP_MAX_PORT_NAME_LEN),
  u32("config"),
  u32("state"),
  u32("curr"),
  u32("advertised"),
  u32("supported"),
  u32("peer"),
]);

// ---- messages (header included, as in openflow.h) ----

export const SWITCH_FEATURES = struct("ofp_switch_features", [
  header(),
  u64("datapathId"),
  u32("nBuffers"),
  u8("nTables"),
  pad(3),
  u32("capabilities"),
  u32("actions"),
  tail("ports"),
]);

export const SWITCH_CONFIG = struct("ofp_switch_config", [
  header(),
  u16("flags"),
  u16("missSendLen"),
]);

export const FLOW_MOD = struct("ofp_flow_mod", [
  header(),
  nested("match", MATCH),
  u64("cookie"),
  u16("command"),
  u16("idleTimeout"),
  u16("hardTimeout"),
  u16("priority"),
  u32("bufferId"),
  u16("outPort"),
  u16("flags"),
  tail("actions"),
]);

export const PORT_MOD = struct("ofp_port_mod", [
  header(),
  u16("portNo"),
  mac("hwAddr"),
  u32("config"),
  u32("mask"),
  u32("advertise"),
  pad(4),
]);

// data starts at 18; sizeof is 20 only because of the struct's 4-byte alignment.
export const PACKET_IN = struct("ofp_packet_in", [
  header(),
  u32("bufferId"),
  u16("totalLen"),
  u16("inPort"),
  u8("reason"),
  pad(1),
  tail("data"),
]);

export const PACKET_OUT = struct("ofp_packet_out", [
  header(),
  u32("bufferId"),
  u16("inPort"),
  skip("actionsLen", 2),
  tail("actions"),
]);

export const FLOW_REMOVED = struct("ofp_flow_removed", [
  header(),
  nested("match", MATCH),
  u64("cookie"),
  u16("priority"),
  u8("reason"),
  pad(1),
  u32("durationSec"),
  u32("durationNsec"),
  u16("idleTimeout"),
  pad(2),
  u64("packetCount"),
  u64("byteCount"),
]);

export const PORT_STATUS = struct("ofp_port_status", [
  header(),
  u8("reason"),
  pad(7),
  nested("desc", PHY_PORT),
]);

export const ERROR_MSG = struct("ofp_error_msg", [
  header(),
  u16("errType"),
  u16("code"),
  tail("data"),
]);

export const VENDOR_HEADER = struct("ofp_vendor_header", [header(), u32("vendor"), tail("data")]);

export const QUEUE_GET_CONFIG_REQUEST = struct("ofp_queue_get_config_request", [
  header(),
  u16("port"),
  pad(2),
]);

export const QUEUE_GET_CONFIG_REPLY = struct("ofp_queue_get_config_reply", [
  header(),
  u16("port"),
  pad(6),
  tail("queues"),
]);

export const PACKET_QUEUE = struct("ofp_packet_queue", [
  u32("queueId"),
  skip("len", 2),
  pad(2),
  tail("properties"),
]);

export const QUEUE_PROP_HEADER = struct("ofp_queue_prop_header", [
  skip("property", 2),
  skip("len", 2),
  pad(4),
]);

export const QUEUE_PROP_MIN_RATE = struct("ofp_queue_prop_min_rate", [
  skip("prop_header", 8),
  u16("rate"),
  pad(6),
]);

// ---- stats ----

export const STATS_HEADER = struct("ofp_stats_request", [
  header(),
  skip("statsType", 2),
  u16("flags"),
  tail("body"),
]);

export const DESC_STATS = struct("ofp_desc_stats", [
  str("mfrDesc", DESC_STR_LEN),
  str("hwDesc", DESC_STR_LEN),
  str("swDesc", DESC_STR_LEN),
  str("serialNum", SERIAL_NUM_LEN),
  str("dpDesc", DESC_STR_LEN),
]);

// ofp_flow_stats_request and ofp_aggregate_stats_request share this layout.
export const FLOW_STATS_REQUEST = struct("ofp_flow_stats_request", [
  nested("match", MATCH),
  u8("tableId"),
  pad(1),
  u16("outPort"),
]);

export const FLOW_STATS = struct("ofp_flow_stats", [
  skip("length", 2),
  u8("tableId"),
  pad(1),
  nested("match", MATCH),
  u32("durationSec"),
  u32("durationNsec"),
  u16("priority"),
  u16("idleTimeout"),
  u16("hardTimeout"),
  pad(6),
  u64("cookie"),
  u64("packetCount"),
  u64("byteCount"),
  tail("actions"),
]);

export const AGGREGATE_STATS_REPLY = struct("ofp_aggregate_stats_reply", [
  u64("packetCount"),
  u64("byteCount"),
  u32("flowCount"),
  pad(4),
]);

export const TABLE_STATS = struct("ofp_table_stats", [
  u8("tableId"),
  pad(3),
  str("name", OFP_MAX_TABLE_NAME_LEN),
  u32("wildcards"),
  u32("maxEntries"),
  u32("activeCount"),
  u64("lookupCount"),
  u64("matchedCount"),
]);

export const PORT_STATS_REQUEST = struct("ofp_port_stats_request", [u16("portNo"), pad(6)]);

export const PORT_STATS = struct("ofp_port_stats", [
  u16("portNo"),
  pad(6),
  u64("rxPackets"),
  u64("txPackets"),
  u64("rxBytes"),
  u64("txBytes"),
  u64("rxDropped"),
  u64("txDropped"),
  u64("rxErrors"),
  u64("txErrors"),
  u64("rxFrameErr"),
  u64("rxOverErr"),
  u64("rxCrcErr"),
  u64("collisions"),
]);

export const QUEUE_STATS_REQUEST = struct("ofp_queue_stats_request", [
  u16("portNo"),
  pad(2),
  u32("queueId"),
]);

export const QUEUE_STATS = struct("ofp_queue_stats", [
  u16("portNo"),
  pad(2),
  u32("queueId"),
  u64("txBytes"),
  u64("txPackets"),
  u64("txErrors"),
]);

export const VENDOR_STATS = struct("ofp_vendor_stats", [u32("vendor"), tail("body")]);

// ---- actions: every action starts with type and len, which the action list codec writes ----

const actionHeader = () => skip("type_len", 4);

export const ACTION_HEADER = struct("ofp_action_header", [actionHeader(), pad(4)]);
export const ACTION_OUTPUT = struct("ofp_action_output", [
  actionHeader(),
  u16("port"),
  u16("maxLen"),
]);
export const ACTION_VLAN_VID = struct("ofp_action_vlan_vid", [
  actionHeader(),
  u16("vlanVid"),
  pad(2),
]);
export const ACTION_VLAN_PCP = struct("ofp_action_vlan_pcp", [
  actionHeader(),
  u8("vlanPcp"),
  pad(3),
]);
export const ACTION_DL_ADDR = struct("ofp_action_dl_addr", [actionHeader(), mac("dlAddr"), pad(6)]);
export const ACTION_NW_ADDR = struct("ofp_action_nw_addr", [actionHeader(), u32("nwAddr")]);
export const ACTION_NW_TOS = struct("ofp_action_nw_tos", [actionHeader(), u8("nwTos"), pad(3)]);
export const ACTION_TP_PORT = struct("ofp_action_tp_port", [actionHeader(), u16("tpPort"), pad(2)]);
export const ACTION_ENQUEUE = struct("ofp_action_enqueue", [
  actionHeader(),
  u16("port"),
  pad(6),
  u32("queueId"),
]);
export const ACTION_VENDOR_HEADER = struct("ofp_action_vendor_header", [
  actionHeader(),
  u32("vendor"),
  tail("body"),
]);
