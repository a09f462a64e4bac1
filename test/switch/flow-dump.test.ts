// Large flow dumps are produced lazily, paced by the controller's reading: the session's send
// queue stays small whatever the table size, ECHO_REQUEST is answered during the dump, and
// requests that arrive during it (BARRIER, FLOW_MOD, another dump) take effect after its last
// part, in order, as Open vSwitch handles them.
import { describe, expect, it } from "vitest";
import { OFPFC, OFPFW, OFPP, OFPST, OFPT } from "../../src/openflow/of10/constants.js";
import type { MessageOf, OfpMessage } from "../../src/openflow/of10/messages.js";
import type { Match } from "../../src/openflow/of10/types.js";
import { applyFlowMod } from "../../src/switch/flow-mod.js";
import { sleep, waitFor } from "../support/wait.js";
import { MATCH_ALL } from "../openflow/helpers.js";
import { allFlowsRequest, flowMod, output, switchPerTest } from "./switch-harness.js";

const startSwitch = switchPerTest();

/** Exact-match entry i (distinct TCP 5-tuples). */
function entry(i: number): MessageOf<typeof OFPT.FLOW_MOD> {
  const match: Match = {
    ...MATCH_ALL,
    wildcards:
      OFPFW.ALL & ~(OFPFW.IN_PORT | OFPFW.DL_TYPE | OFPFW.NW_PROTO | OFPFW.TP_SRC | OFPFW.TP_DST),
    inPort: 1,
    dlType: 0x0800,
    nwProto: 6,
    tpSrc: i >>> 16,
    tpDst: i & 0xffff,
  };
  return flowMod({ match, actions: [output(2)] });
}

const isPart = (xid: number) => (m: OfpMessage) => m.type === OFPT.STATS_REPLY && m.xid === xid;
const flowsIn = (parts: OfpMessage[]) =>
  parts.reduce(
    (n, p) => n + (p.type === OFPT.STATS_REPLY && p.statsType === OFPST.FLOW ? p.flows.length : 0),
    0,
  );

describe("lazy flow dumps", () => {
  it("a 100,000-entry dump streams whole with the send queue bounded; echo is answered during it, later requests (and errors) after it, in order", async () => {
    const N = 100_000;
    const h = await startSwitch({ maxFlows: N + 10 });
    for (let i = 0; i < N; i++) applyFlowMod(h.sw.table, entry(i));
    expect(h.sw.table.activeCount).toBe(N);
    const c = await h.connect();
    c.socket.pause(); // a controller that reads slowly
    const dump = { ...allFlowsRequest(OFPST.FLOW), xid: 0x100 };
    c.send(dump);
    c.send({ type: OFPT.ECHO_REQUEST, xid: 0x200, data: Buffer.alloc(0) });
    c.send({ type: OFPT.BARRIER_REQUEST, xid: 0x300 });
    // A malformed message (a BARRIER_REQUEST with a stray byte): its error, too, waits.
    c.sendRaw(Buffer.from("0112000900000350ff", "hex"));
    c.send({ ...entry(N), xid: 0x400 }); // after the dump request: not in that dump
    c.send({ ...allFlowsRequest(OFPST.FLOW), xid: 0x500 });
    const conn = [...h.sw.connmgr.ready][0];
    let maxUnsent = 0;
    for (let i = 0; i < 20; i++) {
      await sleep(10);
      maxUnsent = Math.max(maxUnsent, conn.queue.unsentBytes);
    }
    expect(conn.streaming).toBe(true);
    expect(h.sw.table.activeCount).toBe(N); // the FLOW_MOD waits behind the dump
    c.socket.resume();
    await waitFor(
      () =>
        c.inbox.some((m) => m.type === OFPT.STATS_REPLY && m.xid === 0x500 && (m.flags & 1) === 0),
      "both dumps",
      30_000,
    );
    const order = c.inbox.map((m) => m.xid);
    const lastOfFirst = order.lastIndexOf(0x100);
    expect(order.indexOf(0x200)).toBeLessThan(lastOfFirst); // echo answered mid-dump
    expect(order.indexOf(0x300)).toBeGreaterThan(lastOfFirst); // barrier after the last part
    expect(order.indexOf(0x300)).toBeLessThan(order.indexOf(0x350)); // BAD_LEN after the barrier
    expect(order.indexOf(0x350)).toBeLessThan(order.indexOf(0x500));
    expect(flowsIn(c.inbox.filter(isPart(0x100)))).toBe(N);
    expect(flowsIn(c.inbox.filter(isPart(0x500)))).toBe(N + 1);
    // Two 64 KiB parts at most were waiting in user space, whatever the table held (9.6 MB).
    expect(maxUnsent).toBeLessThan(192 * 1024);
    expect(c.closed).toBe(false);
  }, 60_000);

  it("entries deleted while a dump is under way are left out; the rest still come", async () => {
    const N = 100_000; // 9.6 MB of replies: more than the kernel's socket buffers take
    const h = await startSwitch({ maxFlows: N });
    for (let i = 0; i < N; i++) applyFlowMod(h.sw.table, entry(i));
    const c = await h.connect();
    const other = await h.connect();
    c.socket.pause();
    c.send({ ...allFlowsRequest(OFPST.FLOW), xid: 0x10 });
    await sleep(50);
    // Another controller deletes every entry meanwhile.
    other.send({
      ...flowMod({
        match: {
          ...entry(0).match,
          wildcards: entry(0).match.wildcards | OFPFW.TP_SRC | OFPFW.TP_DST,
        },
        command: OFPFC.DELETE,
      }),
      outPort: OFPP.NONE,
    });
    await other.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
    expect(h.sw.table.activeCount).toBe(0);
    c.socket.resume();
    const parts = await c.stats({ ...allFlowsRequest(OFPST.FLOW), xid: 0x11 });
    expect(flowsIn(parts)).toBe(0);
    const first = c.inbox.filter(isPart(0x10));
    expect(flowsIn(first)).toBeLessThan(N); // what was sent before the delete, nothing after
    const last = first.at(-1);
    expect(last?.type === OFPT.STATS_REPLY && last.flags & 1).toBe(0);
  }, 60_000);
});
