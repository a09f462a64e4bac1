// encodeMessage / decodeMessage: OfpMessage objects to OpenFlow 1.0 wire bytes and back.
// Encoding writes into one Buffer of the exact size. Decoding is strict: any inconsistency is
// an OfpError with the (type, code) OpenFlow prescribes and the first 64 bytes of the message;
// nothing else is ever thrown, whatever the bytes.
import { OFP_MAX_MESSAGE_LEN, OFP_VERSION, OFPBRC, OFPT, type OfpType } from "./constants.js";
import { OfpError } from "./errors.js";
import { actionsLength, decodeActions, encodeActionsInto } from "./actions.js";
import { readInto, writeStruct, type Layout } from "../layout.js";
import type { MessageOf, OfpMessage } from "./messages.js";
import {
  decodeArray,
  decodeQueues,
  decodeStatsReplyBody,
  decodeStatsRequestBody,
  encodeArray,
  encodeQueues,
  encodeStatsReplyBody,
  encodeStatsRequestBody,
  queuesLength,
  statsReplyBodyLength,
  statsRequestBodyLength,
} from "./stats.js";
import {
  ERROR_MSG,
  FLOW_MOD,
  FLOW_REMOVED,
  HEADER,
  PACKET_IN,
  PACKET_OUT,
  PHY_PORT,
  PORT_MOD,
  PORT_STATUS,
  QUEUE_GET_CONFIG_REPLY,
  QUEUE_GET_CONFIG_REQUEST,
  STATS_HEADER,
  SWITCH_CONFIG,
  SWITCH_FEATURES,
  VENDOR_HEADER,
} from "./structs.js";

export * from "./actions.js";
export * from "./match.js";
export * from "../wire.js";

const PACKET_IN_DATA = PACKET_IN.offsetOf.data;
const PACKET_OUT_ACTIONS_LEN = PACKET_OUT.offsetOf.actionsLen;
const STATS_TYPE = STATS_HEADER.offsetOf.statsType;

/** The encoded length of `msg`, header included. */
export function messageLength(msg: OfpMessage): number {
  switch (msg.type) {
    case OFPT.HELLO:
      return HEADER.size + msg.body.length;
    case OFPT.ERROR:
      return ERROR_MSG.offsetOf.data + msg.data.length;
    case OFPT.ECHO_REQUEST:
    case OFPT.ECHO_REPLY:
      return HEADER.size + msg.data.length;
    case OFPT.VENDOR:
      return VENDOR_HEADER.size + msg.data.length;
    case OFPT.FEATURES_REQUEST:
    case OFPT.GET_CONFIG_REQUEST:
    case OFPT.BARRIER_REQUEST:
    case OFPT.BARRIER_REPLY:
      return HEADER.size;
    case OFPT.FEATURES_REPLY:
      return SWITCH_FEATURES.size + PHY_PORT.size * msg.ports.length;
    case OFPT.GET_CONFIG_REPLY:
    case OFPT.SET_CONFIG:
      return SWITCH_CONFIG.size;
    case OFPT.PACKET_IN:
      return PACKET_IN_DATA + msg.data.length;
    case OFPT.FLOW_REMOVED:
      return FLOW_REMOVED.size;
    case OFPT.PORT_STATUS:
      return PORT_STATUS.size;
    case OFPT.PACKET_OUT:
      return PACKET_OUT.size + actionsLength(msg.actions) + msg.data.length;
    case OFPT.FLOW_MOD:
      return FLOW_MOD.size + actionsLength(msg.actions);
    case OFPT.PORT_MOD:
      return PORT_MOD.size;
    case OFPT.STATS_REQUEST:
      return STATS_HEADER.size + statsRequestBodyLength(msg);
    case OFPT.STATS_REPLY:
      return STATS_HEADER.size + statsReplyBodyLength(msg);
    case OFPT.QUEUE_GET_CONFIG_REQUEST:
      return QUEUE_GET_CONFIG_REQUEST.size;
    case OFPT.QUEUE_GET_CONFIG_REPLY:
      return QUEUE_GET_CONFIG_REPLY.size + queuesLength(msg.queues);
    default:
      throw new RangeError(`unknown message type ${(msg as { type: unknown }).type}`);
  }
}

/** `msg` as wire bytes. Throws RangeError/TypeError for values that do not fit their fields
 * or a message longer than 65535 bytes (split stats replies with splitStatsReply first). */
export function encodeMessage(msg: OfpMessage): Buffer {
  const len = messageLength(msg);
  if (len > OFP_MAX_MESSAGE_LEN) throw new RangeError(`message of ${len} bytes exceeds 65535`);
  const buf = Buffer.allocUnsafe(len);
  buf.writeUInt8(msg.type === OFPT.HELLO ? msg.version : OFP_VERSION, 0);
  buf.writeUInt8(msg.type, 1);
  buf.writeUInt16BE(len, 2);
  buf.writeUInt32BE(msg.xid, 4);
  switch (msg.type) {
    case OFPT.HELLO:
      msg.body.copy(buf, HEADER.size);
      break;
    case OFPT.ERROR:
      writeStruct(ERROR_MSG, msg, buf, 0);
      msg.data.copy(buf, ERROR_MSG.offsetOf.data);
      break;
    case OFPT.ECHO_REQUEST:
    case OFPT.ECHO_REPLY:
      msg.data.copy(buf, HEADER.size);
      break;
    case OFPT.VENDOR:
      writeStruct(VENDOR_HEADER, msg, buf, 0);
      msg.data.copy(buf, VENDOR_HEADER.size);
      break;
    case OFPT.FEATURES_REPLY:
      writeStruct(SWITCH_FEATURES, msg, buf, 0);
      encodeArray(PHY_PORT, msg.ports, buf, SWITCH_FEATURES.size);
      break;
    case OFPT.GET_CONFIG_REPLY:
    case OFPT.SET_CONFIG:
      writeStruct(SWITCH_CONFIG, msg, buf, 0);
      break;
    case OFPT.PACKET_IN:
      writeStruct(PACKET_IN, msg, buf, 0);
      msg.data.copy(buf, PACKET_IN_DATA);
      break;
    case OFPT.FLOW_REMOVED:
      writeStruct(FLOW_REMOVED, msg, buf, 0);
      break;
    case OFPT.PORT_STATUS:
      writeStruct(PORT_STATUS, msg, buf, 0);
      break;
    case OFPT.PACKET_OUT: {
      writeStruct(PACKET_OUT, msg, buf, 0);
      const end = encodeActionsInto(msg.actions, buf, PACKET_OUT.size);
      buf.writeUInt16BE(end - PACKET_OUT.size, PACKET_OUT_ACTIONS_LEN);
      msg.data.copy(buf, end);
      break;
    }
    case OFPT.FLOW_MOD:
      writeStruct(FLOW_MOD, msg, buf, 0);
      encodeActionsInto(msg.actions, buf, FLOW_MOD.size);
      break;
    case OFPT.PORT_MOD:
      writeStruct(PORT_MOD, msg, buf, 0);
      break;
    case OFPT.STATS_REQUEST:
      writeStruct(STATS_HEADER, msg, buf, 0);
      buf.writeUInt16BE(msg.statsType, STATS_TYPE);
      encodeStatsRequestBody(msg, buf, STATS_HEADER.size);
      break;
    case OFPT.STATS_REPLY:
      writeStruct(STATS_HEADER, msg, buf, 0);
      buf.writeUInt16BE(msg.statsType, STATS_TYPE);
      encodeStatsReplyBody(msg, buf, STATS_HEADER.size);
      break;
    case OFPT.QUEUE_GET_CONFIG_REQUEST:
      writeStruct(QUEUE_GET_CONFIG_REQUEST, msg, buf, 0);
      break;
    case OFPT.QUEUE_GET_CONFIG_REPLY:
      writeStruct(QUEUE_GET_CONFIG_REPLY, msg, buf, 0);
      encodeQueues(msg.queues, buf, QUEUE_GET_CONFIG_REPLY.size);
      break;
    default: // header-only messages
      break;
  }
  return buf;
}

function badLen(detail: string): OfpError {
  return OfpError.badRequest(OFPBRC.BAD_LEN, detail);
}

/** The message must be exactly `layout` long; its named fields are read into `into`. */
function fixed(layout: Layout<object>, buf: Buffer, into: object): OfpMessage {
  if (buf.length !== layout.size) throw badLen(`${layout.name} of ${buf.length} bytes`);
  return readInto(layout, buf, 0, into) as unknown as OfpMessage;
}

/** The message must hold at least `min` bytes. */
function atLeast(buf: Buffer, min: number, what: string): void {
  if (buf.length < min) throw badLen(`${what} of ${buf.length} bytes`);
}

/** A copy of the bytes from `off` to the end: the caller's buffer may be reused. */
function rest(buf: Buffer, off: number): Buffer {
  return Buffer.from(buf.subarray(off));
}

/** Decodes exactly one message (as the framer cuts it). Throws only OfpError. */
export function decodeMessage(buf: Buffer): OfpMessage {
  try {
    return decodeUnchecked(buf);
  } catch (e) {
    if (e instanceof OfpError && !e.hasMessage) throw e.withData(buf);
    throw e;
  }
}

/** Reads `layout` at 0 into a new message object of type T (tail fields are set after). */
function head<T extends OfpType>(
  layout: Layout<object>,
  buf: Buffer,
  type: T,
  xid: number,
): MessageOf<T> {
  return readInto(layout, buf, 0, { type, xid }) as unknown as MessageOf<T>;
}

function decodeUnchecked(buf: Buffer): OfpMessage {
  if (buf.length < HEADER.size) throw badLen(`${buf.length} bytes is shorter than a header`);
  const version = buf[0];
  const type = buf[1];
  const length = buf.readUInt16BE(2);
  const xid = buf.readUInt32BE(4);
  if (length !== buf.length) throw badLen(`header says ${length} bytes, message has ${buf.length}`);
  if (type === OFPT.HELLO) return { type, xid, version, body: rest(buf, HEADER.size) };
  if (version !== OFP_VERSION) throw OfpError.badRequest(OFPBRC.BAD_VERSION, `version ${version}`);
  switch (type) {
    case OFPT.ERROR: {
      atLeast(buf, ERROR_MSG.offsetOf.data, "ofp_error_msg");
      const m = head(ERROR_MSG, buf, type, xid);
      m.data = rest(buf, ERROR_MSG.offsetOf.data);
      return m;
    }
    case OFPT.ECHO_REQUEST:
    case OFPT.ECHO_REPLY:
      return { type, xid, data: rest(buf, HEADER.size) };
    case OFPT.VENDOR: {
      atLeast(buf, VENDOR_HEADER.size, "ofp_vendor_header");
      const m = head(VENDOR_HEADER, buf, type, xid);
      m.data = rest(buf, VENDOR_HEADER.size);
      return m;
    }
    case OFPT.FEATURES_REQUEST:
    case OFPT.GET_CONFIG_REQUEST:
    case OFPT.BARRIER_REQUEST:
    case OFPT.BARRIER_REPLY:
      if (buf.length !== HEADER.size) throw badLen(`header-only message of ${buf.length} bytes`);
      return { type, xid };
    case OFPT.FEATURES_REPLY: {
      atLeast(buf, SWITCH_FEATURES.size, "ofp_switch_features");
      const m = head(SWITCH_FEATURES, buf, type, xid);
      m.ports = decodeArray(PHY_PORT, buf, SWITCH_FEATURES.size, buf.length);
      return m;
    }
    case OFPT.GET_CONFIG_REPLY:
    case OFPT.SET_CONFIG:
      return fixed(SWITCH_CONFIG, buf, { type, xid });
    case OFPT.PACKET_IN: {
      atLeast(buf, PACKET_IN_DATA, "ofp_packet_in");
      const m = head(PACKET_IN, buf, type, xid);
      m.data = rest(buf, PACKET_IN_DATA);
      return m;
    }
    case OFPT.FLOW_REMOVED:
      return fixed(FLOW_REMOVED, buf, { type, xid });
    case OFPT.PORT_STATUS:
      return fixed(PORT_STATUS, buf, { type, xid });
    case OFPT.PACKET_OUT: {
      atLeast(buf, PACKET_OUT.size, "ofp_packet_out");
      const actionsLen = buf.readUInt16BE(PACKET_OUT_ACTIONS_LEN);
      const end = PACKET_OUT.size + actionsLen;
      if (end > buf.length) throw badLen(`actions_len ${actionsLen} runs past the message`);
      const m = head(PACKET_OUT, buf, type, xid);
      m.actions = decodeActions(buf, PACKET_OUT.size, actionsLen);
      m.data = rest(buf, end);
      return m;
    }
    case OFPT.FLOW_MOD: {
      atLeast(buf, FLOW_MOD.size, "ofp_flow_mod");
      const m = head(FLOW_MOD, buf, type, xid);
      m.actions = decodeActions(buf, FLOW_MOD.size);
      return m;
    }
    case OFPT.PORT_MOD:
      return fixed(PORT_MOD, buf, { type, xid });
    case OFPT.STATS_REQUEST:
    case OFPT.STATS_REPLY: {
      atLeast(buf, STATS_HEADER.size, "ofp_stats_request");
      const statsType = buf.readUInt16BE(STATS_TYPE);
      const m = readInto(STATS_HEADER, buf, 0, { type, xid, flags: 0, statsType });
      const decodeBody =
        type === OFPT.STATS_REQUEST ? decodeStatsRequestBody : decodeStatsReplyBody;
      decodeBody(statsType, buf, STATS_HEADER.size, buf.length, m);
      return m as unknown as OfpMessage;
    }
    case OFPT.QUEUE_GET_CONFIG_REQUEST:
      return fixed(QUEUE_GET_CONFIG_REQUEST, buf, { type, xid });
    case OFPT.QUEUE_GET_CONFIG_REPLY: {
      atLeast(buf, QUEUE_GET_CONFIG_REPLY.size, "ofp_queue_get_config_reply");
      const m = head(QUEUE_GET_CONFIG_REPLY, buf, type, xid);
      m.queues = decodeQueues(buf, QUEUE_GET_CONFIG_REPLY.size, buf.length);
      return m;
    }
    default:
      throw OfpError.badRequest(OFPBRC.BAD_TYPE, `message type ${type}`);
  }
}
