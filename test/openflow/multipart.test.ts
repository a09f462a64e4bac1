import { describe, expect, it } from "vitest";
import { OFPAT, OFPSF_REPLY_MORE, OFPST, OFPT } from "../../src/openflow/of10/constants.js";
import { decodeMessage, encodeMessage } from "../../src/openflow/of10/codec.js";
import type { MessageOf } from "../../src/openflow/of10/messages.js";
import { flowStatsReplies, splitStatsReply } from "../../src/openflow/of10/multipart.js";
import type { FlowStats } from "../../src/openflow/of10/types.js";
import { MATCH_ALL } from "./helpers.js";

type Reply = MessageOf<typeof OFPT.STATS_REPLY>;

function flow(i: number): FlowStats {
  return {
    tableId: 0,
    match: { ...MATCH_ALL, inPort: i & 0xffff },
    durationSec: i,
    durationNsec: 0,
    priority: i & 0xffff,
    idleTimeout: 0,
    hardTimeout: 0,
    cookie: BigInt(i),
    packetCount: 0n,
    byteCount: 0n,
    // vary the entry size: 0..4 actions
    actions: Array.from({ length: i % 5 }, (_, k) => ({
      type: OFPAT.OUTPUT,
      port: k + 1,
      maxLen: 0,
    })),
  };
}

function checkParts(reply: Reply, parts: Reply[], key: "flows" | "ports" | "tables" | "queues") {
  const wires = parts.map(encodeMessage);
  for (const w of wires) expect(w.length).toBeLessThanOrEqual(65535);
  parts.forEach((p, i) => {
    expect(p.xid).toBe(reply.xid);
    expect(p.flags & OFPSF_REPLY_MORE).toBe(i < parts.length - 1 ? OFPSF_REPLY_MORE : 0);
  });
  const decoded = wires.map((w) => decodeMessage(w) as unknown as Record<string, unknown>);
  const joined = decoded.flatMap((d) => d[key] as unknown[]);
  expect(joined).toEqual((reply as unknown as Record<string, unknown>)[key]);
}

/** A FLOW stats reply with flows 0..n-1. */
function flowReply(xid: number, n: number): Reply {
  const flows = Array.from({ length: n }, (_, i) => flow(i));
  return { type: OFPT.STATS_REPLY, xid, flags: 0, statsType: OFPST.FLOW, flows };
}

describe("splitStatsReply", () => {
  it("splits a 3,000-flow reply into messages under 64 KiB, in order", () => {
    const reply = flowReply(42, 3000);
    expect(() => encodeMessage(reply)).toThrow(RangeError);
    const parts = splitStatsReply(reply);
    expect(parts.length).toBeGreaterThan(4);
    checkParts(reply, parts, "flows");
    // greedy: every part but the last is too full to take the next entry
    const sizes = parts.map((p) => encodeMessage(p).length);
    for (let i = 0; i < sizes.length - 1; i++) expect(sizes[i]).toBeGreaterThan(65535 - 128);
  });

  it("splits port, table and queue replies by whole entries", () => {
    const ports = Array.from({ length: 1000 }, (_, i) => ({
      portNo: i,
      rxPackets: 1n,
      txPackets: 2n,
      rxBytes: 3n,
      txBytes: 4n,
      rxDropped: 0n,
      txDropped: 0n,
      rxErrors: 0n,
      txErrors: 0n,
      rxFrameErr: 0n,
      rxOverErr: 0n,
      rxCrcErr: 0n,
      collisions: 0n,
    }));
    const p: Reply = { type: OFPT.STATS_REPLY, xid: 1, flags: 0, statsType: OFPST.PORT, ports };
    const pParts = splitStatsReply(p);
    expect(pParts).toHaveLength(Math.ceil(1000 / Math.floor((65535 - 12) / 104)));
    checkParts(p, pParts, "ports");
    const tables = Array.from({ length: 1100 }, (_, i) => ({
      tableId: i & 0xff,
      name: `t${i}`,
      wildcards: 0,
      maxEntries: 1,
      activeCount: 0,
      lookupCount: 0n,
      matchedCount: 0n,
    }));
    const t: Reply = { type: OFPT.STATS_REPLY, xid: 2, flags: 0, statsType: OFPST.TABLE, tables };
    checkParts(t, splitStatsReply(t), "tables");
    const queues = Array.from({ length: 2100 }, (_, i) => ({
      portNo: 1,
      queueId: i,
      txBytes: 0n,
      txPackets: 0n,
      txErrors: 0n,
    }));
    const q: Reply = { type: OFPT.STATS_REPLY, xid: 3, flags: 0, statsType: OFPST.QUEUE, queues };
    checkParts(q, splitStatsReply(q), "queues");
  });

  it("leaves small, empty and single-body replies whole, with REPLY_MORE clear", () => {
    const empty: Reply = {
      type: OFPT.STATS_REPLY,
      xid: 5,
      flags: 1,
      statsType: OFPST.FLOW,
      flows: [],
    };
    expect(splitStatsReply(empty)).toEqual([{ ...empty, flags: 0 }]);
    const small: Reply = { ...empty, flows: [flow(1), flow(2)] };
    expect(splitStatsReply(small)).toEqual([{ ...small, flags: 0 }]);
    const agg: Reply = {
      type: OFPT.STATS_REPLY,
      xid: 6,
      flags: 0,
      statsType: OFPST.AGGREGATE,
      aggregate: { packetCount: 1n, byteCount: 2n, flowCount: 3 },
    };
    expect(splitStatsReply(agg)).toEqual([agg]);
  });

  it("honours a smaller maximum", () => {
    const reply: Reply = {
      type: OFPT.STATS_REPLY,
      xid: 9,
      flags: 0,
      statsType: OFPST.FLOW,
      flows: Array.from({ length: 10 }, () => flow(0)),
    };
    const parts = splitStatsReply(reply, 12 + 88 * 3);
    expect(parts.map((p) => (p.statsType === OFPST.FLOW ? p.flows.length : -1))).toEqual([
      3, 3, 3, 1,
    ]);
  });
});

describe("flowStatsReplies (lazy)", () => {
  it("pulls entries only as messages are asked for, and splits as splitStatsReply does", () => {
    let pulled = 0;
    function* entries() {
      for (let i = 0; i < 3000; i++) {
        pulled++;
        yield flow(i);
      }
    }
    const lazy = flowStatsReplies(42, entries());
    const first = lazy.next();
    expect(first.done).toBe(false);
    expect(pulled).toBeLessThan(1000); // one message and the entry that did not fit
    const rest = [...lazy];
    expect([first.value, ...rest]).toEqual(splitStatsReply(flowReply(42, 3000)));
  });

  it("leaves out an entry that could never fit a message instead of failing the reply", () => {
    const huge = {
      ...flow(1),
      actions: Array.from({ length: 8180 }, () => ({ type: OFPAT.OUTPUT, port: 1, maxLen: 0 })),
    };
    const tooBig: number[] = [];
    const parts = [
      ...flowStatsReplies(7, [flow(0), huge as FlowStats, flow(2)], (_f, n) => tooBig.push(n)),
    ];
    expect(tooBig).toEqual([88 + 8180 * 8]);
    expect(parts.flatMap((p) => (p.statsType === OFPST.FLOW ? p.flows : []))).toEqual([
      flow(0),
      flow(2),
    ]);
    for (const p of parts) expect(encodeMessage(p).length).toBeLessThanOrEqual(65535);
  });
});
