// Bodies of OFPT_STATS_REQUEST / OFPT_STATS_REPLY (after the 12-byte ofp_stats header) and
// the queue list of OFPT_QUEUE_GET_CONFIG_REPLY: the variable-length parts of the codec.
import { OFPBRC, OFPQT, OFPST } from "./constants.js";
import { OfpError } from "./errors.js";
import { actionsLength, decodeActions, encodeActionsInto } from "./actions.js";
import { readInto, readStruct, writeStruct, type Layout } from "../layout.js";
import type { StatsReplyBody, StatsRequestBody } from "./messages.js";
import {
  AGGREGATE_STATS_REPLY,
  DESC_STATS,
  FLOW_STATS,
  FLOW_STATS_REQUEST,
  PACKET_QUEUE,
  PORT_STATS,
  PORT_STATS_REQUEST,
  QUEUE_PROP_HEADER,
  QUEUE_PROP_MIN_RATE,
  QUEUE_STATS,
  QUEUE_STATS_REQUEST,
  TABLE_STATS,
  VENDOR_STATS,
} from "./structs.js";
import type { FlowStats, PacketQueue, QueueProperty } from "./types.js";

function badLen(what: string): OfpError {
  return OfpError.badRequest(OFPBRC.BAD_LEN, what);
}

/** buf[off, end) must be exactly `layout`. */
function exactly<V extends object>(
  layout: Layout<V>,
  buf: Buffer,
  off: number,
  end: number,
  into: object,
): V {
  if (end - off !== layout.size) throw badLen(`${layout.name} body of ${end - off} bytes`);
  return readInto(layout, buf, off, into);
}

/** buf[off, end) as an array of fixed-size structs. */
export function decodeArray<V extends object>(
  layout: Layout<V>,
  buf: Buffer,
  off: number,
  end: number,
): V[] {
  if ((end - off) % layout.size !== 0) {
    throw badLen(`${end - off} bytes is not a whole number of ${layout.name}`);
  }
  const out: V[] = [];
  for (; off < end; off += layout.size) out.push(readStruct(layout, buf, off));
  return out;
}

export function encodeArray<V extends object>(
  layout: Layout<V>,
  items: readonly V[],
  buf: Buffer,
  off: number,
): number {
  for (let i = 0; i < items.length; i++, off += layout.size)
    writeStruct(layout, items[i], buf, off);
  return off;
}

// ---- requests ----

export function statsRequestBodyLength(m: StatsRequestBody): number {
  switch (m.statsType) {
    case OFPST.DESC:
    case OFPST.TABLE:
      return 0;
    case OFPST.FLOW:
    case OFPST.AGGREGATE:
      return FLOW_STATS_REQUEST.size;
    case OFPST.PORT:
      return PORT_STATS_REQUEST.size;
    case OFPST.QUEUE:
      return QUEUE_STATS_REQUEST.size;
    case OFPST.VENDOR:
      return VENDOR_STATS.size + m.body.length;
  }
}

export function encodeStatsRequestBody(m: StatsRequestBody, buf: Buffer, off: number): void {
  switch (m.statsType) {
    case OFPST.FLOW:
    case OFPST.AGGREGATE:
      return writeStruct(FLOW_STATS_REQUEST, m, buf, off);
    case OFPST.PORT:
      return writeStruct(PORT_STATS_REQUEST, m, buf, off);
    case OFPST.QUEUE:
      return writeStruct(QUEUE_STATS_REQUEST, m, buf, off);
    case OFPST.VENDOR:
      writeStruct(VENDOR_STATS, m, buf, off);
      m.body.copy(buf, off + VENDOR_STATS.size);
      return;
    default: // DESC, TABLE: no body
      return;
  }
}

/** Fills `into` (which already holds type, xid, flags, statsType) from buf[off, end). */
export function decodeStatsRequestBody(
  statsType: number,
  buf: Buffer,
  off: number,
  end: number,
  into: object,
): void {
  switch (statsType) {
    case OFPST.DESC:
    case OFPST.TABLE:
      if (end !== off) throw badLen(`stats request ${statsType} with a ${end - off}-byte body`);
      return;
    case OFPST.FLOW:
    case OFPST.AGGREGATE:
      exactly(FLOW_STATS_REQUEST, buf, off, end, into);
      return;
    case OFPST.PORT:
      exactly(PORT_STATS_REQUEST, buf, off, end, into);
      return;
    case OFPST.QUEUE:
      exactly(QUEUE_STATS_REQUEST, buf, off, end, into);
      return;
    case OFPST.VENDOR:
      decodeVendorBody(buf, off, end, into);
      return;
    default:
      throw OfpError.badRequest(OFPBRC.BAD_STAT, `stats type ${statsType}`);
  }
}

function decodeVendorBody(buf: Buffer, off: number, end: number, into: object): void {
  if (end - off < VENDOR_STATS.size) throw badLen("vendor stats without a vendor id");
  readInto(VENDOR_STATS, buf, off, into);
  (into as { body: Buffer }).body = Buffer.from(buf.subarray(off + VENDOR_STATS.size, end));
}

// ---- replies ----

export function flowStatsLength(f: FlowStats): number {
  return FLOW_STATS.size + actionsLength(f.actions);
}

export function statsReplyBodyLength(m: StatsReplyBody): number {
  switch (m.statsType) {
    case OFPST.DESC:
      return DESC_STATS.size;
    case OFPST.FLOW: {
      let n = 0;
      for (let i = 0; i < m.flows.length; i++) n += flowStatsLength(m.flows[i]);
      return n;
    }
    case OFPST.AGGREGATE:
      return AGGREGATE_STATS_REPLY.size;
    case OFPST.TABLE:
      return TABLE_STATS.size * m.tables.length;
    case OFPST.PORT:
      return PORT_STATS.size * m.ports.length;
    case OFPST.QUEUE:
      return QUEUE_STATS.size * m.queues.length;
    case OFPST.VENDOR:
      return VENDOR_STATS.size + m.body.length;
  }
}

export function encodeStatsReplyBody(m: StatsReplyBody, buf: Buffer, off: number): void {
  switch (m.statsType) {
    case OFPST.DESC:
      return writeStruct(DESC_STATS, m.desc, buf, off);
    case OFPST.FLOW:
      for (const f of m.flows) {
        const len = flowStatsLength(f);
        buf.writeUInt16BE(len, off);
        writeStruct(FLOW_STATS, f, buf, off);
        encodeActionsInto(f.actions, buf, off + FLOW_STATS.size);
        off += len;
      }
      return;
    case OFPST.AGGREGATE:
      return writeStruct(AGGREGATE_STATS_REPLY, m.aggregate, buf, off);
    case OFPST.TABLE:
      encodeArray(TABLE_STATS, m.tables, buf, off);
      return;
    case OFPST.PORT:
      encodeArray(PORT_STATS, m.ports, buf, off);
      return;
    case OFPST.QUEUE:
      encodeArray(QUEUE_STATS, m.queues, buf, off);
      return;
    case OFPST.VENDOR:
      writeStruct(VENDOR_STATS, m, buf, off);
      m.body.copy(buf, off + VENDOR_STATS.size);
      return;
  }
}

function decodeFlowStatsList(buf: Buffer, off: number, end: number): FlowStats[] {
  const flows: FlowStats[] = [];
  while (off < end) {
    if (end - off < FLOW_STATS.size)
      throw badLen(`${end - off} stray bytes after the last ofp_flow_stats`);
    const len = buf.readUInt16BE(off);
    if (len < FLOW_STATS.size || len > end - off) throw badLen(`ofp_flow_stats with length ${len}`);
    const f = readStruct(FLOW_STATS, buf, off) as FlowStats;
    f.actions = decodeActions(buf, off + FLOW_STATS.size, len - FLOW_STATS.size);
    flows.push(f);
    off += len;
  }
  return flows;
}

export function decodeStatsReplyBody(
  statsType: number,
  buf: Buffer,
  off: number,
  end: number,
  into: object,
): void {
  const o = into as Record<string, unknown>;
  switch (statsType) {
    case OFPST.DESC:
      o.desc = exactly(DESC_STATS, buf, off, end, {});
      return;
    case OFPST.FLOW:
      o.flows = decodeFlowStatsList(buf, off, end);
      return;
    case OFPST.AGGREGATE:
      o.aggregate = exactly(AGGREGATE_STATS_REPLY, buf, off, end, {});
      return;
    case OFPST.TABLE:
      o.tables = decodeArray(TABLE_STATS, buf, off, end);
      return;
    case OFPST.PORT:
      o.ports = decodeArray(PORT_STATS, buf, off, end);
      return;
    case OFPST.QUEUE:
      o.queues = decodeArray(QUEUE_STATS, buf, off, end);
      return;
    case OFPST.VENDOR:
      decodeVendorBody(buf, off, end, into);
      return;
    default:
      throw OfpError.badRequest(OFPBRC.BAD_STAT, `stats type ${statsType}`);
  }
}

// ---- queue configuration ----

function propertyLength(p: QueueProperty): number {
  return p.property === OFPQT.MIN_RATE ? QUEUE_PROP_MIN_RATE.size : QUEUE_PROP_HEADER.size;
}

function packetQueueLength(q: PacketQueue): number {
  let n = PACKET_QUEUE.size;
  for (const p of q.properties) n += propertyLength(p);
  return n;
}

export function queuesLength(queues: readonly PacketQueue[]): number {
  let n = 0;
  for (const q of queues) n += packetQueueLength(q);
  return n;
}

export function encodeQueues(queues: readonly PacketQueue[], buf: Buffer, off: number): void {
  for (const q of queues) {
    writeStruct(PACKET_QUEUE, q, buf, off);
    buf.writeUInt16BE(packetQueueLength(q), off + PACKET_QUEUE.offsetOf.len);
    off += PACKET_QUEUE.size;
    for (const p of q.properties) {
      const len = propertyLength(p);
      writeStruct(QUEUE_PROP_HEADER, {}, buf, off);
      buf.writeUInt16BE(p.property, off);
      buf.writeUInt16BE(len, off + 2);
      if (p.property === OFPQT.MIN_RATE) writeStruct(QUEUE_PROP_MIN_RATE, p, buf, off);
      off += len;
    }
  }
}

function decodeProperties(buf: Buffer, off: number, end: number): QueueProperty[] {
  const props: QueueProperty[] = [];
  while (off < end) {
    if (end - off < QUEUE_PROP_HEADER.size) throw badLen("truncated queue property");
    const property = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    if (property === OFPQT.MIN_RATE) {
      if (len !== QUEUE_PROP_MIN_RATE.size || len > end - off)
        throw badLen(`MIN_RATE property of ${len} bytes`);
      props.push(readInto(QUEUE_PROP_MIN_RATE, buf, off, { property }) as QueueProperty);
    } else if (property === OFPQT.NONE) {
      if (len !== QUEUE_PROP_HEADER.size) throw badLen(`NONE property of ${len} bytes`);
      props.push({ property });
    } else {
      // OF1.0 has no error code for this; BAD_TYPE is the nearest ("unknown kind").
      throw OfpError.badRequest(OFPBRC.BAD_TYPE, `unknown queue property ${property}`);
    }
    off += len;
  }
  return props;
}

export function decodeQueues(buf: Buffer, off: number, end: number): PacketQueue[] {
  const queues: PacketQueue[] = [];
  while (off < end) {
    if (end - off < PACKET_QUEUE.size) throw badLen("truncated ofp_packet_queue");
    const len = buf.readUInt16BE(off + PACKET_QUEUE.offsetOf.len);
    if (len < PACKET_QUEUE.size || len > end - off)
      throw badLen(`ofp_packet_queue with length ${len}`);
    const q = readStruct(PACKET_QUEUE, buf, off) as PacketQueue;
    q.properties = decodeProperties(buf, off + PACKET_QUEUE.size, off + len);
    queues.push(q);
    off += len;
  }
  return queues;
}
