// Every OpenFlow 1.0 message as a typed object: the OfpMessage union is keyed by `type` (the
// numeric OFPT value), so `switch (msg.type)` narrows to the message's own fields. The codec
// (codec.ts) turns these into wire bytes and back; nothing here knows about sockets.
import type { OFPST, OFPT, OfpType } from "./constants.js";
import type {
  Action,
  AggregateStats,
  DescStats,
  FlowMod,
  FlowRemoved,
  FlowStats,
  Match,
  MacAddress,
  PacketQueue,
  PhyPort,
  PortStats,
  QueueStats,
  TableStats,
} from "./types.js";

/** The header fields every message carries besides its version and length. */
interface Envelope<T extends OfpType> {
  type: T;
  xid: number;
}

/** OFPT_HELLO: `version` is the sender's highest version (decoded for any version, for
 * negotiation); `body` holds any bytes after the header (hello elements of later versions). */
export interface Hello {
  version: number;
  body: Buffer;
}

/** OFPT_ERROR: `data` is usually the first 64 bytes of the offending request (or ASCII text for
 * HELLO_FAILED). errType/code are kept as numbers so vendor types survive a round trip. */
export interface ErrorMsg {
  errType: number;
  code: number;
  data: Buffer;
}

/** OFPT_ECHO_REQUEST / OFPT_ECHO_REPLY: arbitrary payload, echoed back. */
export interface Echo {
  data: Buffer;
}

/** OFPT_VENDOR: vendor id and the vendor-defined bytes after it. */
export interface Vendor {
  vendor: number;
  data: Buffer;
}

/** OFPT_FEATURES_REPLY (ofp_switch_features). `actions` is the OFPAT bitmap. */
export interface FeaturesReply {
  datapathId: bigint;
  nBuffers: number;
  nTables: number;
  capabilities: number;
  actions: number;
  ports: PhyPort[];
}

/** OFPT_GET_CONFIG_REPLY / OFPT_SET_CONFIG (ofp_switch_config). */
export interface SwitchConfig {
  flags: number;
  missSendLen: number;
}

/** OFPT_PACKET_IN. `data` is the (possibly truncated) frame; totalLen its full length. */
export interface PacketIn {
  bufferId: number;
  totalLen: number;
  inPort: number;
  reason: number;
  data: Buffer;
}

/** OFPT_PORT_STATUS. */
export interface PortStatus {
  reason: number;
  desc: PhyPort;
}

/** OFPT_PACKET_OUT. `data` is empty when bufferId names a buffered packet. */
export interface PacketOut {
  bufferId: number;
  inPort: number;
  actions: Action[];
  data: Buffer;
}

/** OFPT_PORT_MOD. */
export interface PortMod {
  portNo: number;
  hwAddr: MacAddress;
  config: number;
  mask: number;
  advertise: number;
}

/** OFPT_QUEUE_GET_CONFIG_REQUEST. */
export interface QueueGetConfigRequest {
  port: number;
}

/** OFPT_QUEUE_GET_CONFIG_REPLY. */
export interface QueueGetConfigReply {
  port: number;
  queues: PacketQueue[];
}

/** ofp_flow_stats_request / ofp_aggregate_stats_request body. */
export interface FlowStatsRequestBody {
  match: Match;
  tableId: number;
  outPort: number;
}

/** The body of an OFPT_STATS_REQUEST, by stats type. */
export type StatsRequestBody =
  | { statsType: typeof OFPST.DESC }
  | ({ statsType: typeof OFPST.FLOW } & FlowStatsRequestBody)
  | ({ statsType: typeof OFPST.AGGREGATE } & FlowStatsRequestBody)
  | { statsType: typeof OFPST.TABLE }
  | { statsType: typeof OFPST.PORT; portNo: number }
  | { statsType: typeof OFPST.QUEUE; portNo: number; queueId: number }
  | { statsType: typeof OFPST.VENDOR; vendor: number; body: Buffer };

/** The body of an OFPT_STATS_REPLY, by stats type. */
export type StatsReplyBody =
  | { statsType: typeof OFPST.DESC; desc: DescStats }
  | { statsType: typeof OFPST.FLOW; flows: FlowStats[] }
  | { statsType: typeof OFPST.AGGREGATE; aggregate: AggregateStats }
  | { statsType: typeof OFPST.TABLE; tables: TableStats[] }
  | { statsType: typeof OFPST.PORT; ports: PortStats[] }
  | { statsType: typeof OFPST.QUEUE; queues: QueueStats[] }
  | { statsType: typeof OFPST.VENDOR; vendor: number; body: Buffer };

/** `flags` is the ofp_stats_request/reply flags word (OFPSF_REPLY_MORE on replies). */
export type StatsRequest = { flags: number } & StatsRequestBody;
export type StatsReply = { flags: number } & StatsReplyBody;

/** An empty object type for messages that are only a header. */
type NoBody = Record<never, never>;

export type OfpMessage =
  | (Envelope<typeof OFPT.HELLO> & Hello)
  | (Envelope<typeof OFPT.ERROR> & ErrorMsg)
  | (Envelope<typeof OFPT.ECHO_REQUEST> & Echo)
  | (Envelope<typeof OFPT.ECHO_REPLY> & Echo)
  | (Envelope<typeof OFPT.VENDOR> & Vendor)
  | (Envelope<typeof OFPT.FEATURES_REQUEST> & NoBody)
  | (Envelope<typeof OFPT.FEATURES_REPLY> & FeaturesReply)
  | (Envelope<typeof OFPT.GET_CONFIG_REQUEST> & NoBody)
  | (Envelope<typeof OFPT.GET_CONFIG_REPLY> & SwitchConfig)
  | (Envelope<typeof OFPT.SET_CONFIG> & SwitchConfig)
  | (Envelope<typeof OFPT.PACKET_IN> & PacketIn)
  | (Envelope<typeof OFPT.FLOW_REMOVED> & FlowRemoved)
  | (Envelope<typeof OFPT.PORT_STATUS> & PortStatus)
  | (Envelope<typeof OFPT.PACKET_OUT> & PacketOut)
  | (Envelope<typeof OFPT.FLOW_MOD> & FlowMod)
  | (Envelope<typeof OFPT.PORT_MOD> & PortMod)
  | (Envelope<typeof OFPT.STATS_REQUEST> & StatsRequest)
  | (Envelope<typeof OFPT.STATS_REPLY> & StatsReply)
  | (Envelope<typeof OFPT.BARRIER_REQUEST> & NoBody)
  | (Envelope<typeof OFPT.BARRIER_REPLY> & NoBody)
  | (Envelope<typeof OFPT.QUEUE_GET_CONFIG_REQUEST> & QueueGetConfigRequest)
  | (Envelope<typeof OFPT.QUEUE_GET_CONFIG_REPLY> & QueueGetConfigReply);

/** The message variant of one OFPT type, e.g. `MessageOf<typeof OFPT.FLOW_MOD>`. */
export type MessageOf<T extends OfpType> = Extract<OfpMessage, { type: T }>;

/** A STATS_REQUEST of one stats type, e.g. `StatsRequestOf<typeof OFPST.FLOW>`. */
export type StatsRequestOf<S extends StatsRequestBody["statsType"]> = Extract<
  MessageOf<typeof OFPT.STATS_REQUEST>,
  { statsType: S }
>;

/** A STATS_REPLY of one stats type, e.g. `StatsReplyOf<typeof OFPST.PORT>`. */
export type StatsReplyOf<S extends StatsReplyBody["statsType"]> = Extract<
  MessageOf<typeof OFPT.STATS_REPLY>,
  { statsType: S }
>;

/** A message without its envelope: what a handler builds before a reply's xid is known. */
export type BodyOf<T extends OfpType> =
  MessageOf<T> extends infer M ? (M extends unknown ? Omit<M, "type" | "xid"> : never) : never;
