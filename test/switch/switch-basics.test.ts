import { describe, expect, it } from "vitest";
import {
  OFPBRC,
  OFPC,
  OFPC_FRAG,
  OFPET,
  OFPP,
  OFPPC,
  OFPPMFC,
  OFPPR,
  OFPQ_ALL,
  OFPQOFC,
  OFPST,
  OFPT,
} from "../../src/openflow/of10/constants.js";
import { ACTIONS_BITMAP } from "../../src/switch/switch-features.js";
import { eth, ipv4, udp } from "../support/frames.js";
import { memoryLogger } from "../support/log-sink.js";
import { FrameIoError } from "../../src/datapath/frame-io.js";
import { PORT_CONFIG } from "../../src/datapath/port.js";
import type { OfpMessage } from "../../src/openflow/of10/messages.js";
import type { ControllerPeer } from "./peer.js";
import { switchPerTest, errorOf } from "./switch-harness.js";

const startSwitch = switchPerTest();

describe("OpenFlowSwitch: switch description and configuration", () => {
  it("answers FEATURES_REQUEST with every port, the dpid from the first MAC and its abilities", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const r = await c.request({ type: OFPT.FEATURES_REQUEST, xid: 0 });
    expect(r.type).toBe(OFPT.FEATURES_REPLY);
    if (r.type !== OFPT.FEATURES_REPLY) return;
    expect(r.datapathId).toBe(0x020000000001n);
    expect(r.nBuffers).toBe(256);
    expect(r.nTables).toBe(1);
    expect(r.capabilities).toBe(
      OFPC.FLOW_STATS | OFPC.TABLE_STATS | OFPC.PORT_STATS | OFPC.ARP_MATCH_IP,
    );
    expect(r.actions).toBe(ACTIONS_BITMAP);
    expect(r.actions & (1 << 11)).toBe(0); // no ENQUEUE: there are no queues
    expect(r.ports.map((p) => [p.portNo, p.name, p.hwAddr])).toEqual([
      [1, "p1", "02:00:00:00:00:01"],
      [2, "p2", "02:00:00:00:00:02"],
      [3, "p3", "02:00:00:00:00:03"],
    ]);
  });

  it("uses an explicit datapath id", async () => {
    const h = await startSwitch({ datapathId: 0xabcdn });
    const c = await h.connect();
    const r = await c.request({ type: OFPT.FEATURES_REQUEST, xid: 0 });
    expect(r.type === OFPT.FEATURES_REPLY && r.datapathId).toBe(0xabcdn);
  });

  it("keeps miss_send_len per session and fragment handling NORMAL/DROP; REASM is refused by keeping the mode", async () => {
    const h = await startSwitch({ missSendLen: 200 });
    const a = await h.connect();
    const b = await h.connect();
    const get = async (c: typeof a) => {
      const r = await c.request({ type: OFPT.GET_CONFIG_REQUEST, xid: 0 });
      if (r.type !== OFPT.GET_CONFIG_REPLY) throw new Error("no GET_CONFIG_REPLY");
      return [r.flags, r.missSendLen];
    };
    expect(await get(a)).toEqual([OFPC_FRAG.NORMAL, 200]);
    a.send({ type: OFPT.SET_CONFIG, xid: 5, flags: OFPC_FRAG.DROP, missSendLen: 64 });
    expect(await get(a)).toEqual([OFPC_FRAG.DROP, 64]);
    expect(await get(b)).toEqual([OFPC_FRAG.DROP, 200]);
    a.send({ type: OFPT.SET_CONFIG, xid: 6, flags: OFPC_FRAG.REASM, missSendLen: 64 });
    expect(await get(a)).toEqual([OFPC_FRAG.DROP, 64]);
    expect(a.drain(OFPT.ERROR)).toEqual([]);
  });

  it("drops IP fragments under FRAG_DROP and forwards them under FRAG_NORMAL", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const frag = eth(
      { type: 0x0800 },
      ipv4({ proto: 17, fragField: 0x2000 }, udp({ sport: 1, dport: 2 })),
    );
    c.send({ type: OFPT.SET_CONFIG, xid: 1, flags: OFPC_FRAG.DROP, missSendLen: 128 });
    await c.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
    h.inject(1, frag);
    c.send({ type: OFPT.SET_CONFIG, xid: 2, flags: OFPC_FRAG.NORMAL, missSendLen: 128 });
    await c.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
    h.inject(1, frag);
    const pin = await c.expect(OFPT.PACKET_IN);
    expect(pin.totalLen).toBe(frag.length);
    await c.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
    expect(c.drain(OFPT.PACKET_IN)).toEqual([]);
    expect(h.sw.datapath.stats.fragmentDrops).toBe(1);
  });
});

describe("OpenFlowSwitch: PORT_MOD and QUEUE_GET_CONFIG", () => {
  it("refuses unknown ports and wrong hardware addresses", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const mod = { type: OFPT.PORT_MOD, xid: 0, config: 0, mask: 0, advertise: 0 } as const;
    const bad = await c.request({ ...mod, portNo: 9, hwAddr: "02:00:00:00:00:09" });
    expect(errorOf(bad)).toEqual([OFPET.PORT_MOD_FAILED, OFPPMFC.BAD_PORT]);
    const hw = await c.request({ ...mod, portNo: 1, hwAddr: "02:00:00:00:00:99" });
    expect(errorOf(hw)).toEqual([OFPET.PORT_MOD_FAILED, OFPPMFC.BAD_HW_ADDR]);
    expect(hw.type === OFPT.ERROR && hw.data.readUInt8(1)).toBe(OFPT.PORT_MOD);
  });

  it("applies config bits under the mask, reports the change and enforces PORT_DOWN and NO_FLOOD", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const frame = eth({ type: 0x88b5, dst: "ff:ff:ff:ff:ff:ff" }, [1, 2, 3]);
    c.send({
      type: OFPT.PORT_MOD,
      xid: 7,
      portNo: 2,
      hwAddr: "02:00:00:00:00:02",
      config: OFPPC.NO_FLOOD | OFPPC.NO_RECV,
      mask: OFPPC.NO_FLOOD,
      advertise: 0,
    });
    const st = await c.expect(OFPT.PORT_STATUS);
    expect([st.reason, st.desc.portNo, st.desc.config]).toEqual([OFPPR.MODIFY, 2, OFPPC.NO_FLOOD]);
    c.send({
      type: OFPT.PACKET_OUT,
      xid: 8,
      bufferId: 0xffffffff,
      inPort: 1,
      actions: [{ type: 0, port: OFPP.FLOOD, maxLen: 0 }],
      data: frame,
    });
    await c.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
    expect(h.hosts[1].received).toEqual([]);
    expect(h.hosts[2].received).toEqual([frame]);
    // PORT_DOWN: nothing received from or sent to the port.
    c.send({
      type: OFPT.PORT_MOD,
      xid: 9,
      portNo: 3,
      hwAddr: "02:00:00:00:00:03",
      config: OFPPC.PORT_DOWN,
      mask: OFPPC.PORT_DOWN,
      advertise: 0,
    });
    expect((await c.expect(OFPT.PORT_STATUS)).desc.config).toBe(OFPPC.PORT_DOWN);
    c.send({
      type: OFPT.PACKET_OUT,
      xid: 10,
      bufferId: 0xffffffff,
      inPort: OFPP.NONE,
      actions: [{ type: 0, port: 3, maxLen: 0 }],
      data: frame,
    });
    h.inject(3, frame);
    await c.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
    expect(h.hosts[2].received).toHaveLength(1);
    expect(c.drain(OFPT.PACKET_IN)).toEqual([]);
  });

  it("PORT_DOWN sets the interface down and up; a refusal keeps PORT_DOWN, warns, sends no error", async () => {
    const { log, lines } = memoryLogger();
    const h = await startSwitch({ log });
    const c = await h.connect();
    const calls: boolean[] = [];
    let refuse = false;
    h.ports[1].setAdminUp = (up) => {
      if (refuse) throw new FrameIoError("EPERM", "SIOCSIFFLAGS: Operation not permitted");
      calls.push(up);
    };
    const mod = { type: OFPT.PORT_MOD, portNo: 2, hwAddr: "02:00:00:00:00:02", advertise: 0 };
    const down = { ...mod, config: OFPPC.PORT_DOWN, mask: OFPPC.PORT_DOWN } as const;
    c.send({ ...down, xid: 1 });
    expect((await c.expect(OFPT.PORT_STATUS)).desc.config).toBe(OFPPC.PORT_DOWN);
    c.send({ ...mod, xid: 2, config: 0, mask: OFPPC.PORT_DOWN });
    expect((await c.expect(OFPT.PORT_STATUS)).desc.config).toBe(0);
    expect(calls).toEqual([false, true]);
    refuse = true;
    const both = OFPPC.PORT_DOWN | OFPPC.NO_FLOOD;
    c.send({ ...mod, xid: 3, config: both, mask: both });
    // The rest of the request applies (NO_FLOOD), PORT_DOWN does not, and no error comes back.
    expect((await c.expect(OFPT.PORT_STATUS)).desc.config).toBe(OFPPC.NO_FLOOD);
    c.send({ ...down, xid: 4 });
    const echo = await c.request({ type: OFPT.ECHO_REQUEST, xid: 5, data: Buffer.alloc(0) });
    expect(echo.type).toBe(OFPT.ECHO_REPLY);
    expect(c.drain(OFPT.ERROR)).toEqual([]);
    expect(c.drain(OFPT.PORT_STATUS)).toEqual([]);
    expect(h.ports[1].config & PORT_CONFIG.DOWN).toBe(0);
    const warned = lines.filter((l) => l.level === 40 && l.msg.startsWith("PORT_MOD: cannot"));
    expect(warned[0]).toMatchObject({ port: "p2", portNo: 2, error: "EPERM" });
  });

  it("has no queues: empty config for a port, BAD_PORT otherwise", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const ok = await c.request({ type: OFPT.QUEUE_GET_CONFIG_REQUEST, xid: 0, port: 2 });
    expect(ok).toMatchObject({ type: OFPT.QUEUE_GET_CONFIG_REPLY, port: 2, queues: [] });
    const bad = await c.request({ type: OFPT.QUEUE_GET_CONFIG_REQUEST, xid: 0, port: 42 });
    expect(errorOf(bad)).toEqual([OFPET.QUEUE_OP_FAILED, OFPQOFC.BAD_PORT]);
  });
});

/** The switch's DESC stats reply, as one message. */
async function descOf(c: ControllerPeer): Promise<OfpMessage> {
  const [desc] = await c.stats({
    type: OFPT.STATS_REQUEST,
    xid: 0,
    flags: 0,
    statsType: OFPST.DESC,
  });
  return desc;
}

describe("OpenFlowSwitch: stats", () => {
  it("DESC names the frame I/O backend the switch was given", async () => {
    for (const frameIo of ["AF_PACKET", "libpcap"]) {
      const h = await startSwitch({ frameIo });
      const desc = await descOf(await h.connect());
      const hw =
        desc.type === OFPT.STATS_REPLY && desc.statsType === OFPST.DESC && desc.desc.hwDesc;
      expect(hw).toMatch(
        new RegExp(`^ofswitch software switch \\(Node\\.js .*, frame I/O: ${frameIo}\\)$`),
      );
    }
  });

  it("answers DESC, TABLE, PORT (all, one, unknown), QUEUE and refuses VENDOR", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    expect(await descOf(c)).toMatchObject({
      statsType: OFPST.DESC,
      desc: { mfrDesc: "ofswitch project", swDesc: "ofswitch 0.1.0" },
    });
    const [tables] = await c.stats({
      type: OFPT.STATS_REQUEST,
      xid: 0,
      flags: 0,
      statsType: OFPST.TABLE,
    });
    expect(tables).toMatchObject({ tables: [{ tableId: 0, activeCount: 0 }] });
    h.inject(1, eth({ type: 0x88b5 }, [0, 1, 2, 3]));
    const port = (n: number) =>
      c.stats({ type: OFPT.STATS_REQUEST, xid: 0, flags: 0, statsType: OFPST.PORT, portNo: n });
    const [all] = await port(OFPP.NONE);
    expect(
      all.type === OFPT.STATS_REPLY &&
        all.statsType === OFPST.PORT &&
        all.ports.map((p) => [p.portNo, p.rxPackets]),
    ).toEqual([
      [1, 1n],
      [2, 0n],
      [3, 0n],
    ]);
    const [one] = await port(2);
    expect(one).toMatchObject({ ports: [{ portNo: 2 }] });
    const [none] = await port(77);
    expect(none).toMatchObject({ ports: [] });
    const queue = (portNo: number, queueId: number) =>
      c.stats({
        type: OFPT.STATS_REQUEST,
        xid: 0,
        flags: 0,
        statsType: OFPST.QUEUE,
        portNo,
        queueId,
      });
    expect((await queue(OFPP.ALL, OFPQ_ALL))[0]).toMatchObject({ queues: [] });
    expect(errorOf((await queue(9, OFPQ_ALL))[0])).toEqual([
      OFPET.QUEUE_OP_FAILED,
      OFPQOFC.BAD_PORT,
    ]);
    expect(errorOf((await queue(1, 3))[0])).toEqual([OFPET.QUEUE_OP_FAILED, OFPQOFC.BAD_QUEUE]);
    const [vendor] = await c.stats({
      type: OFPT.STATS_REQUEST,
      xid: 0,
      flags: 0,
      statsType: OFPST.VENDOR,
      vendor: 0x2320,
      body: Buffer.alloc(4),
    });
    expect(errorOf(vendor)).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_VENDOR]);
  });

  it("refuses VENDOR messages and switch-to-controller messages, echoing xid and request bytes", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const v = await c.request({
      type: OFPT.VENDOR,
      xid: 0x77,
      vendor: 0x2320,
      data: Buffer.alloc(8),
    });
    expect(errorOf(v)).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_VENDOR]);
    expect(v.xid).toBe(0x77);
    const f = await c.request({
      type: OFPT.FEATURES_REPLY,
      xid: 0x78,
      datapathId: 1n,
      nBuffers: 0,
      nTables: 1,
      capabilities: 0,
      actions: 0,
      ports: [],
    });
    expect(errorOf(f)).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE]);
    expect(f.type === OFPT.ERROR && f.data.subarray(0, 8).toString("hex")).toBe("0106002000000078");
  });
});
