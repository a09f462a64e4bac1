// Splits a large STATS_REPLY into several messages that each fit the 16-bit length field,
// with OFPSF_REPLY_MORE on all but the last, as OF1.0 (and ovs-ofctl's dump-flows) expects.
import { OFP_MAX_MESSAGE_LEN, OFPSF_REPLY_MORE, OFPST, OFPT } from "./constants.js";
import type { MessageOf, StatsReplyOf } from "./messages.js";
import { flowStatsLength } from "./stats.js";
import { PORT_STATS, QUEUE_STATS, STATS_HEADER, TABLE_STATS } from "./structs.js";

type StatsReply = MessageOf<typeof OFPT.STATS_REPLY>;

/** Greedy cut of `items` into runs whose encoded sizes sum to at most `room` each. */
function cut<T>(items: readonly T[], sizeOf: (item: T) => number, room: number): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let used = 0;
  for (const item of items) {
    const n = sizeOf(item);
    if (n > room) throw new RangeError(`one stats entry of ${n} bytes cannot fit a message`);
    if (used + n > room && part.length > 0) {
      parts.push(part);
      part = [];
      used = 0;
    }
    part.push(item);
    used += n;
  }
  parts.push(part); // the last (possibly empty) part always goes out, without REPLY_MORE
  return parts;
}

/** The reply as one or more messages, each encoding to at most `maxLen` bytes (default
 * 65535), same xid, REPLY_MORE set on all but the last. FLOW, TABLE, PORT and QUEUE replies are
 * split by entry; DESC, AGGREGATE and VENDOR replies are returned whole. */
export function splitStatsReply(reply: StatsReply, maxLen = OFP_MAX_MESSAGE_LEN): StatsReply[] {
  const room = maxLen - STATS_HEADER.size;
  const flagsMore = reply.flags | OFPSF_REPLY_MORE;
  const flagsLast = reply.flags & ~OFPSF_REPLY_MORE;
  const withFlags = <R extends StatsReply>(parts: R[]): R[] =>
    parts.map((p, i) => ({ ...p, flags: i === parts.length - 1 ? flagsLast : flagsMore }));
  switch (reply.statsType) {
    case OFPST.FLOW: {
      const r: StatsReplyOf<typeof OFPST.FLOW> = reply;
      return withFlags(cut(r.flows, flowStatsLength, room).map((flows) => ({ ...r, flows })));
    }
    case OFPST.TABLE: {
      const r: StatsReplyOf<typeof OFPST.TABLE> = reply;
      const parts = cut(r.tables, () => TABLE_STATS.size, room);
      return withFlags(parts.map((tables) => ({ ...r, tables })));
    }
    case OFPST.PORT: {
      const r: StatsReplyOf<typeof OFPST.PORT> = reply;
      const parts = cut(r.ports, () => PORT_STATS.size, room);
      return withFlags(parts.map((ports) => ({ ...r, ports })));
    }
    case OFPST.QUEUE: {
      const r: StatsReplyOf<typeof OFPST.QUEUE> = reply;
      const parts = cut(r.queues, () => QUEUE_STATS.size, room);
      return withFlags(parts.map((queues) => ({ ...r, queues })));
    }
    default:
      return [reply];
  }
}
