import { describe, expect, it } from "vitest";
import {
  OFP_NO_BUFFER,
  OFPAT,
  OFPBAC,
  OFPBRC,
  OFPET,
  OFPFC,
  OFPFF,
  OFPFW,
  OFPP,
  OFPR,
  OFPRR,
  OFPST,
  OFPT,
  NXET_VENDOR,
  NXVC_VENDOR_ERROR,
} from "../../src/openflow/of10/constants.js";
import { eth, tcpFrame } from "../support/frames.js";
import {
  flowMod,
  inPortMatch,
  output,
  sleep,
  switchPerTest,
  errorOf,
  barrier,
  allFlowsRequest,
} from "./switch-harness.js";

const startSwitch = switchPerTest();

const big = (n: number) =>
  eth(
    { type: 0x88b5 },
    Array.from({ length: n }, (_, i) => i & 0xff),
  );

describe("OpenFlowSwitch: PACKET_IN and PACKET_OUT", () => {
  it("buffers a miss, cuts the data to miss_send_len and releases the buffer to one PACKET_OUT", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const frame = big(500);
    h.inject(1, frame);
    const pin = await c.expect(OFPT.PACKET_IN);
    expect([pin.reason, pin.inPort, pin.totalLen, pin.data.length]).toEqual([
      OFPR.NO_MATCH,
      1,
      514,
      128,
    ]);
    expect(pin.data).toEqual(frame.subarray(0, 128));
    expect(pin.bufferId).not.toBe(OFP_NO_BUFFER);
    c.send({
      type: OFPT.PACKET_OUT,
      xid: 3,
      bufferId: pin.bufferId,
      inPort: 1,
      actions: [output(2)],
      data: Buffer.alloc(0),
    });
    await barrier(c);
    expect(h.hosts[1].received).toEqual([frame]);
    const again = await c.request({
      type: OFPT.PACKET_OUT,
      xid: 0,
      bufferId: pin.bufferId,
      inPort: 1,
      actions: [output(2)],
      data: Buffer.alloc(0),
    });
    expect(errorOf(again)).toEqual([OFPET.BAD_REQUEST, OFPBRC.BUFFER_EMPTY]);
    const unknown = await c.request({
      type: OFPT.PACKET_OUT,
      xid: 0,
      bufferId: pin.bufferId ^ 0x100,
      inPort: 1,
      actions: [output(2)],
      data: Buffer.alloc(0),
    });
    expect(errorOf(unknown)).toEqual([OFPET.BAD_REQUEST, OFPBRC.BUFFER_UNKNOWN]);
    expect(h.hosts[1].received).toHaveLength(1);
  });

  it("sends inline PACKET_OUT data, floods, and validates ports and actions", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const f = tcpFrame();
    c.send({
      type: OFPT.PACKET_OUT,
      xid: 1,
      bufferId: OFP_NO_BUFFER,
      inPort: 1,
      actions: [output(OFPP.FLOOD)],
      data: f,
    });
    await barrier(c);
    expect([h.hosts[0].received, h.hosts[1].received, h.hosts[2].received]).toEqual([[], [f], [f]]);
    const po = (
      actions: Parameters<typeof output>[0] extends number ? ReturnType<typeof output>[] : never,
      inPort = 1,
    ) =>
      c.request({
        type: OFPT.PACKET_OUT,
        xid: 0,
        bufferId: OFP_NO_BUFFER,
        inPort,
        actions,
        data: f,
      });
    // As OVS: a port number that does not exist (now) is accepted; the packet is dropped.
    const absentBefore = h.sw.datapath.stats.noSuchPort;
    c.send({
      type: OFPT.PACKET_OUT,
      xid: 0x7e57,
      bufferId: OFP_NO_BUFFER,
      inPort: 1,
      actions: [output(9)],
      data: f,
    });
    await barrier(c);
    expect(c.drain(OFPT.ERROR)).toEqual([]);
    expect(h.sw.datapath.stats.noSuchPort).toBe(absentBefore + 1);
    expect(errorOf(await po([output(OFPP.NONE)]))).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT]);
    expect(errorOf(await po([output(2)], 0xff10))).toEqual([NXET_VENDOR, NXVC_VENDOR_ERROR]);
    const vlan = await c.request({
      type: OFPT.PACKET_OUT,
      xid: 0,
      bufferId: OFP_NO_BUFFER,
      inPort: 1,
      actions: [{ type: OFPAT.SET_VLAN_VID, vlanVid: 5000 }],
      data: f,
    });
    expect(errorOf(vlan)).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_ARGUMENT]);
    const enq = await c.request({
      type: OFPT.PACKET_OUT,
      xid: 0,
      bufferId: OFP_NO_BUFFER,
      inPort: 1,
      actions: [{ type: OFPAT.ENQUEUE, port: 2, queueId: 1 }],
      data: f,
    });
    expect(errorOf(enq)).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_QUEUE]);
    expect(h.hosts[1].received).toHaveLength(1);
  });

  it("output to port 0 is accepted in FLOW_MOD and PACKET_OUT and drops the packet, as Open vSwitch (any number below OFPP_MAX); OFPP_NONE gets BAD_OUT_PORT", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const absentBefore = h.sw.datapath.stats.noSuchPort;
    c.send(flowMod({ match: inPortMatch(1), actions: [output(0)] }));
    c.send({
      type: OFPT.PACKET_OUT,
      xid: 0,
      bufferId: OFP_NO_BUFFER,
      inPort: 1,
      actions: [output(0)],
      data: tcpFrame(),
    });
    await barrier(c);
    expect(c.drain(OFPT.ERROR)).toEqual([]);
    expect(h.sw.datapath.stats.noSuchPort).toBe(absentBefore + 1);
    h.inject(1, tcpFrame());
    await barrier(c);
    expect(h.sw.datapath.stats.noSuchPort).toBe(absentBefore + 2);
    expect(h.hosts.map((x) => x.received.length)).toEqual([0, 0, 0]);
    const none = await c.request(flowMod({ match: inPortMatch(2), actions: [output(OFPP.NONE)] }));
    expect(errorOf(none)).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT]);
  });

  it("PACKET_OUT in_port: 0, NONE, CONTROLLER, LOCAL and absent port numbers run as in OVS; others get OFPBRC_BAD_PORT", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const f = tcpFrame();
    const received = () => h.hosts.map((x) => x.received.length);
    // What Open vSwitch 3.1 (netdev bridge, ports 1-3) delivered to ports 1..3 for each in_port
    // and action, measured on veths with raw PACKET_OUTs (docs/openflow10.md, "PACKET_OUT in_port").
    const ovs: [number, number, number[]][] = [
      [0, 2, [0, 1, 0]],
      [1, 2, [0, 1, 0]],
      [5, 2, [0, 1, 0]],
      [OFPP.CONTROLLER, 2, [0, 1, 0]],
      [OFPP.LOCAL, 2, [0, 1, 0]],
      [OFPP.NONE, 2, [0, 1, 0]],
      [0, OFPP.IN_PORT, [0, 0, 0]],
      [1, OFPP.IN_PORT, [1, 0, 0]],
      [5, OFPP.IN_PORT, [0, 0, 0]],
      [OFPP.NONE, OFPP.IN_PORT, [0, 0, 0]],
      [0, OFPP.FLOOD, [1, 1, 1]],
      [1, OFPP.FLOOD, [0, 1, 1]],
      [5, OFPP.FLOOD, [1, 1, 1]],
      [OFPP.CONTROLLER, OFPP.FLOOD, [1, 1, 1]],
      [OFPP.LOCAL, OFPP.FLOOD, [1, 1, 1]],
      [OFPP.NONE, OFPP.FLOOD, [1, 1, 1]],
    ];
    for (const [inPort, port, delivered] of ovs) {
      const before = received();
      c.send({
        type: OFPT.PACKET_OUT,
        xid: 0,
        bufferId: OFP_NO_BUFFER,
        inPort,
        actions: [output(port)],
        data: f,
      });
      await barrier(c);
      expect(
        received().map((n, i) => n - before[i]),
        `in_port ${inPort} -> ${port}`,
      ).toEqual(delivered);
    }
    expect(c.drain(OFPT.ERROR)).toEqual([]);
    for (const inPort of [OFPP.MAX, 0xfff0, OFPP.IN_PORT, OFPP.TABLE, OFPP.FLOOD, OFPP.ALL]) {
      const before = received();
      const err = await c.request({
        type: OFPT.PACKET_OUT,
        xid: 0x77,
        bufferId: OFP_NO_BUFFER,
        inPort,
        actions: [output(2)],
        data: f,
      });
      if (err.type !== OFPT.ERROR) throw new Error("expected an error");
      // As OVS encodes OFPBRC_BAD_PORT for OF1.0: vendor 0x2320, type 1, code 514, the request.
      expect([err.errType, err.code, err.xid]).toEqual([NXET_VENDOR, NXVC_VENDOR_ERROR, 0x77]);
      expect(err.data.subarray(0, 8).toString("hex")).toBe("0000232000010202");
      expect(err.data.readUInt8(8 + 1)).toBe(OFPT.PACKET_OUT);
      expect(received()).toEqual(before);
    }
  });

  it("sends PACKET_IN for output to CONTROLLER cut to max_len, and whole and unbuffered for 0xffff", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    c.send(flowMod({ match: inPortMatch(1), actions: [output(OFPP.CONTROLLER, 60)] }));
    c.send(flowMod({ match: inPortMatch(2), actions: [output(OFPP.CONTROLLER, 0xffff)] }));
    await barrier(c);
    const f = big(300);
    h.inject(1, f);
    const a = await c.expect(OFPT.PACKET_IN);
    expect([a.reason, a.data.length, a.totalLen]).toEqual([OFPR.ACTION, 60, f.length]);
    h.inject(2, f);
    const b = await c.expect(OFPT.PACKET_IN);
    expect([b.reason, b.bufferId, b.data]).toEqual([OFPR.ACTION, OFP_NO_BUFFER, f]);
  });

  it("sends every packet whole with OFP_NO_BUFFER when the buffers are all held", async () => {
    const h = await startSwitch({ packetInRate: 0 });
    const c = await h.connect();
    for (let i = 0; i < 260; i++) h.inject(1, big(200));
    await barrier(c);
    const pins = c.drain(OFPT.PACKET_IN);
    expect(pins).toHaveLength(260);
    expect(
      pins.slice(0, 256).every((p) => p.bufferId !== OFP_NO_BUFFER && p.data.length === 128),
    ).toBe(true);
    expect(
      pins.slice(256).every((p) => p.bufferId === OFP_NO_BUFFER && p.data.length === 214),
    ).toBe(true);
    expect(new Set(pins.slice(0, 256).map((p) => p.bufferId)).size).toBe(256);
  });
});

describe("OpenFlowSwitch: FLOW_MOD", () => {
  it("applies a flow before the next message, so a packet after BARRIER_REPLY meets it", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    c.send(flowMod({ match: inPortMatch(1), actions: [output(3)] }));
    await barrier(c);
    const f = tcpFrame();
    h.inject(1, f);
    expect(h.hosts[2].received).toEqual([f]);
    c.send(flowMod({ command: OFPFC.MODIFY, match: inPortMatch(1), actions: [output(2)] }));
    await barrier(c);
    h.inject(1, f);
    expect(h.hosts[1].received).toEqual([f]);
    const [fs] = await c.stats(allFlowsRequest(OFPST.FLOW));
    expect(fs).toMatchObject({
      flows: [{ packetCount: 2n, byteCount: BigInt(2 * f.length), priority: 0x8000 }],
    });
  });

  it("reports priorities as sent, but 65535 for a FLOW_MOD with OF1.0 wildcards 0 (as Open vSwitch), and aggregates", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const exact = {
      ...flowMod().match,
      wildcards: 0,
      inPort: 1,
      dlSrc: "00:00:00:00:00:01",
      dlDst: "00:00:00:00:00:02",
      dlVlan: 0xffff,
      dlType: 0x0800,
      nwProto: 6,
      nwSrc: 0x0a000001,
      nwDst: 0x0a000002,
      tpSrc: 1234,
      tpDst: 80,
    };
    c.send(flowMod({ match: exact, priority: 7, actions: [output(2)] }));
    c.send(flowMod({ match: inPortMatch(2), priority: 300, actions: [output(1)] }));
    await barrier(c);
    h.inject(1, tcpFrame());
    const [fs] = await c.stats(allFlowsRequest(OFPST.FLOW));
    if (fs.type !== OFPT.STATS_REPLY || fs.statsType !== OFPST.FLOW)
      throw new Error("no flow stats");
    expect(
      fs.flows.map((f) => [f.priority, f.packetCount]).sort((a, b) => Number(a[0]) - Number(b[0])),
    ).toEqual([
      [300, 0n],
      [0xffff, 1n],
    ]);
    const [agg] = await c.stats(allFlowsRequest(OFPST.AGGREGATE));
    expect(agg).toMatchObject({ aggregate: { flowCount: 2, packetCount: 1n } });
    expect(h.hosts[1].received).toHaveLength(1);
  });

  it("sends the buffered packet through the new flow, and reports a bad buffer after the flow took effect", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const f = tcpFrame();
    h.inject(1, f);
    const pin = await c.expect(OFPT.PACKET_IN);
    c.send(flowMod({ match: inPortMatch(1), actions: [output(2)], bufferId: pin.bufferId }));
    await barrier(c);
    expect(h.hosts[1].received).toEqual([f]);
    const e = await c.request(
      flowMod({ match: inPortMatch(3), actions: [output(1)], bufferId: pin.bufferId }),
    );
    expect(errorOf(e)).toEqual([OFPET.BAD_REQUEST, OFPBRC.BUFFER_EMPTY]);
    h.inject(3, f);
    expect(h.hosts[0].received).toEqual([f]);
  });

  it("refuses bad actions, bad commands, and a full table", async () => {
    const h = await startSwitch({ maxFlows: 1 });
    const c = await h.connect();
    expect(errorOf(await c.request(flowMod({ actions: [output(OFPP.TABLE)] })))).toEqual([
      OFPET.BAD_ACTION,
      OFPBAC.BAD_OUT_PORT,
    ]);
    expect(
      errorOf(
        await c.request(
          flowMod({ actions: [{ type: OFPAT.VENDOR, vendor: 0x2320, body: Buffer.alloc(8) }] }),
        ),
      ),
    ).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_VENDOR]);
    expect(errorOf(await c.request(flowMod({ command: 9 })))).toEqual([OFPET.FLOW_MOD_FAILED, 4]);
    c.send(flowMod({ match: inPortMatch(1), actions: [output(7)] })); // a port that may appear later: accepted
    await barrier(c);
    expect(errorOf(await c.request(flowMod({ match: inPortMatch(2) })))).toEqual([
      OFPET.FLOW_MOD_FAILED,
      0,
    ]);
  });

  it("sends FLOW_REMOVED for deletes and idle expiry when SEND_FLOW_REM was set", async () => {
    const h = await startSwitch({ tickMs: 20 });
    const c = await h.connect();
    c.send(
      flowMod({
        match: inPortMatch(1),
        actions: [output(2)],
        flags: OFPFF.SEND_FLOW_REM,
        cookie: 5n,
      }),
    );
    c.send(flowMod({ match: inPortMatch(2), actions: [output(1)] }));
    c.send(
      flowMod({
        match: inPortMatch(3),
        actions: [output(1)],
        idleTimeout: 1,
        flags: OFPFF.SEND_FLOW_REM,
        priority: 9,
      }),
    );
    await barrier(c);
    h.inject(1, tcpFrame());
    c.send(flowMod({ command: OFPFC.DELETE, match: flowMod().match, outPort: 2 }));
    const rem = await c.expect(OFPT.FLOW_REMOVED);
    expect([rem.reason, rem.cookie, rem.packetCount, rem.match.inPort]).toEqual([
      OFPRR.DELETE,
      5n,
      1n,
      1,
    ]);
    const idle = await c.expect(OFPT.FLOW_REMOVED, 3000);
    expect([idle.reason, idle.priority, idle.idleTimeout]).toEqual([OFPRR.IDLE_TIMEOUT, 9, 1]);
    await barrier(c);
    expect(c.drain(OFPT.FLOW_REMOVED)).toEqual([]);
    expect(h.sw.table.activeCount).toBe(1);
  });

  it("splits a long flow dump into several replies with REPLY_MORE", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    for (let i = 0; i < 1000; i++) {
      c.send(
        flowMod({
          match: {
            ...flowMod().match,
            wildcards: OFPFW.ALL & ~OFPFW.DL_SRC,
            dlSrc: `02:00:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 0xff).toString(16).padStart(2, "0")}`,
          },
          actions: [output(2)],
        }),
      );
    }
    await barrier(c);
    const parts = await c.stats(allFlowsRequest(OFPST.FLOW));
    expect(parts.length).toBeGreaterThan(1);
    const n = parts.reduce(
      (s, p) =>
        s + (p.type === OFPT.STATS_REPLY && p.statsType === OFPST.FLOW ? p.flows.length : 0),
      0,
    );
    expect(n).toBe(1000);
  });
});

describe("OpenFlowSwitch: several controllers and packet-in limits", () => {
  it("sends PACKET_IN to every controller and replies only to the asker", async () => {
    const h = await startSwitch();
    const a = await h.connect();
    const b = await h.connect();
    h.inject(1, tcpFrame());
    const [pa, pb] = await Promise.all([a.expect(OFPT.PACKET_IN), b.expect(OFPT.PACKET_IN)]);
    expect(pa.totalLen).toBe(pb.totalLen);
    await a.request({ type: OFPT.FEATURES_REQUEST, xid: 0x4242 });
    await barrier(b);
    expect(b.inbox.filter((m) => m.xid === 0x4242)).toEqual([]);
    // Each session has its own buffers: both may release their copy.
    a.send({
      type: OFPT.PACKET_OUT,
      xid: 1,
      bufferId: pa.bufferId,
      inPort: 1,
      actions: [output(2)],
      data: Buffer.alloc(0),
    });
    b.send({
      type: OFPT.PACKET_OUT,
      xid: 1,
      bufferId: pb.bufferId,
      inPort: 1,
      actions: [output(3)],
      data: Buffer.alloc(0),
    });
    await Promise.all([barrier(a), barrier(b)]);
    expect([h.hosts[1].received.length, h.hosts[2].received.length]).toEqual([1, 1]);
  });

  it("a FLOW_MOD whose flow stats entry could never fit a reply is refused with OFPBAC_TOO_MANY; dumps keep working", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const outputs = (n: number) => Array.from({ length: n }, (_, i) => output((i % 3) + 1));
    for (const [n, command] of [
      [8180, OFPFC.ADD],
      [8182, OFPFC.ADD],
      [8180, OFPFC.MODIFY],
      [8180, OFPFC.MODIFY_STRICT],
    ] as const) {
      const r = await c.request(flowMod({ actions: outputs(n), command, priority: 7 }));
      expect(errorOf(r), `${n} outputs, command ${command}`).toEqual([
        OFPET.BAD_ACTION,
        OFPBAC.TOO_MANY,
      ]);
    }
    expect(h.sw.table.activeCount).toBe(0);
    c.send(flowMod({ actions: outputs(8179), priority: 8 })); // 88 + 65,432 + 12 = 65,532 bytes
    c.send(flowMod({ actions: [output(2)], priority: 9 }));
    await barrier(c);
    const parts = await c.stats(allFlowsRequest(OFPST.FLOW));
    const flows = parts.flatMap((p) =>
      p.type === OFPT.STATS_REPLY && p.statsType === OFPST.FLOW ? p.flows : [],
    );
    expect(flows.map((f) => [f.priority, f.actions.length])).toEqual([
      [9, 1],
      [8, 8179],
    ]);
  });

  it("no packet-in rate limit by default (as OVS): 1,000 misses in one burst give 1,000 packet-ins", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    for (let i = 0; i < 1000; i++) h.inject(1, tcpFrame({ sport: 1000 + i }));
    await barrier(c);
    expect(c.drain(OFPT.PACKET_IN)).toHaveLength(1000);
    expect([h.sw.stats.packetInsRateLimited, h.sw.stats.packetInsQueueDropped]).toEqual([0, 0]);
  });

  it("a miss storm towards a controller that stops reading stays bounded by the send queue; other sessions and flows go on", async () => {
    const h = await startSwitch();
    const stalled = await h.connect();
    stalled.send({ type: OFPT.SET_CONFIG, xid: 1, flags: 0, missSendLen: 0xffff });
    await barrier(stalled);
    const other = await h.connect();
    other.send(flowMod({ match: inPortMatch(2), actions: [output(3)] }));
    await barrier(other);
    stalled.socket.pause();
    const f = big(1400);
    const conn = [...h.sw.connmgr.ready][0];
    let maxUnsent = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 1000; i++) h.inject(1, f); // 70 MB of whole-frame packet-ins offered
      maxUnsent = Math.max(maxUnsent, conn.queue.unsentBytes);
      h.inject(2, f); // a flow hit keeps forwarding
      const t0 = performance.now();
      await barrier(other); // the other session is answered during the storm
      expect(performance.now() - t0).toBeLessThan(1000);
    }
    expect(h.hosts[2].received).toHaveLength(50);
    // 256 KiB of unsent packet-ins at most (plus one), whatever the storm offered.
    expect(maxUnsent).toBeLessThan(256 * 1024 + 1500);
    expect(h.sw.stats.packetInsQueueDropped).toBeGreaterThan(40_000);
    expect(h.sw.stats.packetInsRateLimited).toBe(0);
    stalled.socket.resume();
    await barrier(stalled);
    expect(stalled.drain(OFPT.PACKET_IN).length).toBeGreaterThan(0);
  });

  it("rate-limits packet-ins per controller with a token bucket and counts the drops", async () => {
    const h = await startSwitch({ packetInRate: 10, packetInBurst: 3 });
    const c = await h.connect();
    for (let i = 0; i < 50; i++) h.inject(1, tcpFrame());
    await barrier(c);
    expect(c.drain(OFPT.PACKET_IN)).toHaveLength(3);
    expect(h.sw.stats.packetInsRateLimited).toBe(47);
    await sleep(250);
    h.inject(1, tcpFrame());
    await c.expect(OFPT.PACKET_IN);
  });

  it("drops packet-ins, not replies, for a controller that does not read, with bounded memory", async () => {
    const h = await startSwitch({ packetInRate: 0, sendQueue: { droppableBytes: 64 * 1024 } });
    const c = await h.connect();
    c.send({ type: OFPT.SET_CONFIG, xid: 1, flags: 0, missSendLen: 0xffff });
    await barrier(c);
    c.socket.pause();
    const f = big(1400);
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 200; i++) h.inject(1, f);
      await sleep(5);
    }
    expect(h.sw.stats.packetInsQueueDropped).toBeGreaterThan(0);
    const conn = [...h.sw.connmgr.ready][0];
    expect(conn.queue.unsentBytes).toBeLessThan(64 * 1024 + 2 * 1500);
    c.socket.resume();
    await barrier(c);
    expect(c.drain(OFPT.PACKET_IN).length).toBe(h.sw.stats.packetInsSent);
  });
});
