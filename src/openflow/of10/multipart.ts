// Splits a large STATS_REPLY into several messages that each fit the 16-bit length field,
// with OFPSF_REPLY_MORE on all but the last, as OF1.0 (and ovs-ofctl's dump-flows) expects.
// Flow replies can be produced lazily, one message at a time, from any iterable of entries.
import { OFP_MAX_MESSAGE_LEN, OFPSF_REPLY_MORE, OFPST, OFPT } from "./constants.js";
import type { MessageOf, StatsReplyOf } from "./messages.js";
import { flowStatsLength } from "./stats.js";
import { PORT_STATS, QUEUE_STATS, STATS_HEADER, TABLE_STATS } from "./structs.js";
import type { FlowStats } from "./types.js";

type StatsReply = MessageOf<typeof OFPT.STATS_REPLY>;

/**
 * Greedy cut of `items` into runs whose encoded sizes sum to at most `room` each, one run at a
 * time; `last` tells the final run (which always comes, possibly empty). An item larger than
 * `room` can never be sent: it is left out and passed to `tooBig` (as Open vSwitch leaves such a
 * flow out of a dump) instead of failing the whole reply.
 */
export function* runsOf<T>(
  items: Iterable<T>,
  sizeOf: (item: T) => number,
  room: number,
  tooBig: (item: T, size: number) => void = () => {},
): Generator<{ items: T[]; last: boolean }> {
  let run: T[] = [];
  let used = 0;
  for (const item of items) {
    const n = sizeOf(item);
    if (n > room) {
      tooBig(item, n);
      continue;
    }
    if (used + n > room && run.length > 0) {
      yield { items: run, last: false };
      run = [];
      used = 0;
    }
    run.push(item);
    used += n;
  }
  yield { items: run, last: true };
}

/** The messages of a FLOW stats reply for `flows`, produced as they are asked for. */
export function* flowStatsReplies(
  xid: number,
  flows: Iterable<FlowStats>,
  tooBig?: (flow: FlowStats, size: number) => void,
  maxLen = OFP_MAX_MESSAGE_LEN,
): Generator<StatsReply> {
  const room = maxLen - STATS_HEADER.size;
  for (const run of runsOf(flows, flowStatsLength, room, tooBig)) {
    const flags = run.last ? 0 : OFPSF_REPLY_MORE;
    yield { type: OFPT.STATS_REPLY, xid, flags, statsType: OFPST.FLOW, flows: run.items };
  }
}

/** The reply as one or more messages, each encoding to at most `maxLen` bytes (default
 * 65535), same xid, REPLY_MORE set on all but the last. FLOW, TABLE, PORT and QUEUE replies are
 * split by entry; DESC, AGGREGATE and VENDOR replies are returned whole. */
export function splitStatsReply(reply: StatsReply, maxLen = OFP_MAX_MESSAGE_LEN): StatsReply[] {
  const room = maxLen - STATS_HEADER.size;
  const flagsMore = reply.flags | OFPSF_REPLY_MORE;
  const flagsLast = reply.flags & ~OFPSF_REPLY_MORE;
  const split = <T, R extends StatsReply>(
    items: readonly T[],
    sizeOf: (item: T) => number,
    build: (items: T[]) => R,
  ): R[] =>
    Array.from(runsOf(items, sizeOf, room), (run) => ({
      ...build(run.items),
      flags: run.last ? flagsLast : flagsMore,
    }));
  switch (reply.statsType) {
    case OFPST.FLOW: {
      const r: StatsReplyOf<typeof OFPST.FLOW> = reply;
      return split(r.flows, flowStatsLength, (flows) => ({ ...r, flows }));
    }
    case OFPST.TABLE: {
      const r: StatsReplyOf<typeof OFPST.TABLE> = reply;
      return split(
        r.tables,
        () => TABLE_STATS.size,
        (tables) => ({ ...r, tables }),
      );
    }
    case OFPST.PORT: {
      const r: StatsReplyOf<typeof OFPST.PORT> = reply;
      return split(
        r.ports,
        () => PORT_STATS.size,
        (ports) => ({ ...r, ports }),
      );
    }
    case OFPST.QUEUE: {
      const r: StatsReplyOf<typeof OFPST.QUEUE> = reply;
      return split(
        r.queues,
        () => QUEUE_STATS.size,
        (queues) => ({ ...r, queues }),
      );
    }
    default:
      return [reply];
  }
}
