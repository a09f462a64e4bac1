// The packet trace against a switch over MemoryPorts programmed by a controller: hits with
// rewrites, misses in each fail mode, floods with port flags, controller outputs; and that a
// trace changes nothing (no counter, no MAC learned, no frame sent) unless asked to send.
import { describe, expect, it } from "vitest";
import { OFPAT, OFPFW, OFPP, OFPPC, OFPT } from "../../src/openflow/of10/constants.js";
import type { Action, Match } from "../../src/openflow/of10/types.js";
import { ipv4FromString } from "../../src/openflow/wire.js";
import { statsSelector } from "../../src/switch/switch-stats.js";
import { traceText, tracePacket, type TraceReport } from "../../src/switch/trace.js";
import { TraceInputError, frameFromHex, packetFromFlow } from "../../src/switch/trace-packet.js";
import { eth } from "../support/frames.js";
import {
  MATCH_ALL,
  barrier,
  flowMod,
  inPortMatch,
  output,
  sleep,
  switchPerTest,
  type Harness,
} from "./switch-harness.js";
import type { ControllerPeer } from "./peer.js";

const startSwitch = switchPerTest();
const ip = ipv4FromString;
const WEB =
  "in_port=1,dl_src=02:00:00:00:00:aa,dl_dst=02:00:00:00:00:bb,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1234,tp_dst=80";

/** tcp to 10.0.0.2:80 from port 1. */
const webMatch: Match = {
  ...MATCH_ALL,
  wildcards:
    OFPFW.ALL &
    ~(OFPFW.IN_PORT | OFPFW.DL_TYPE | OFPFW.NW_PROTO | OFPFW.TP_DST | OFPFW.NW_DST_MASK),
  inPort: 1,
  dlType: 0x0800,
  nwProto: 6,
  nwDst: ip("10.0.0.2"),
  tpDst: 80,
};

async function programmed(actions: Action[], match: Match = webMatch, priority = 100) {
  const h = await startSwitch();
  const c = await h.connect();
  c.send(flowMod({ match, priority, cookie: 0x5n, idleTimeout: 60, actions }));
  await barrier(c);
  return { h, c };
}

/** PORT_MOD: sets `flag` on port `portNo` (MemoryPort MACs are 02:00:00:00:00:0N). */
function setPortFlag(c: ControllerPeer, portNo: number, flag: number): void {
  c.send({
    type: OFPT.PORT_MOD,
    xid: 9,
    portNo,
    hwAddr: `02:00:00:00:00:0${portNo}`,
    config: flag,
    mask: flag,
    advertise: 0,
  });
}

function trace(h: Harness, flow: string, send = false): TraceReport {
  return tracePacket(h.sw, packetFromFlow(flow), send);
}

/** Every counter a real packet would move. */
function counters(h: Harness) {
  return JSON.stringify(
    {
      dp: h.sw.datapath.stats,
      table: [h.sw.table.lookupCount, h.sw.table.matchedCount],
      cache: h.sw.table.cacheHits,
      ports: h.sw.datapath.ports().map((p) => [p.counters.rxPackets, p.counters.txPackets]),
      flows: h.sw.table.select(statsSelector(MATCH_ALL, 0xff, OFPP.NONE)!).map((e) => e.packets),
      sw: h.sw.stats,
    },
    (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
  );
}

describe("packet trace", () => {
  it("a hit: the entry, each rewrite, the output port; nothing happens", async () => {
    const { h } = await programmed([
      { type: OFPAT.SET_NW_DST, nwAddr: ip("10.0.0.9") },
      { type: OFPAT.SET_TP_DST, tpPort: 8080 },
      { type: OFPAT.SET_DL_DST, dlAddr: "02:00:00:00:00:cc" },
      output(2),
    ]);
    const before = counters(h);
    const r = trace(h, WEB);
    expect(r.flow).toBe(
      "in_port=1,dl_vlan=0xffff,dl_vlan_pcp=0,dl_src=02:00:00:00:00:aa,dl_dst=02:00:00:00:00:bb," +
        "dl_type=0x0800,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_proto=6,nw_tos=0,tp_src=1234,tp_dst=80",
    );
    expect(r.table.result).toBe("hit");
    expect(r.table.entry).toMatchObject({
      priority: 100,
      exact: false,
      match: "tcp,in_port=1,nw_dst=10.0.0.2,tp_dst=80",
      cookie: "0x5",
      packets: 0,
      idleTimeout: 60,
      actions: "mod_nw_dst:10.0.0.9,mod_tp_dst:8080,mod_dl_dst:02:00:00:00:00:cc,output:2",
    });
    expect(r.steps.map((s) => [s.action, s.rewrites])).toEqual([
      ["mod_nw_dst:10.0.0.9", ["nw_dst: 10.0.0.2 -> 10.0.0.9"]],
      ["mod_tp_dst:8080", ["tp_dst: 80 -> 8080"]],
      ["mod_dl_dst:02:00:00:00:00:cc", ["dl_dst: 02:00:00:00:00:bb -> 02:00:00:00:00:cc"]],
      ["output:2", []],
    ]);
    expect(r.outputs).toEqual([{ result: "sent", port: 2, portName: "p2" }]);
    expect(r.sent).toBe(false);
    await sleep(20);
    expect(counters(h)).toBe(before);
    expect(h.hosts.map((x) => x.received.length)).toEqual([0, 0, 0]);
    const text = traceText(r);
    expect(text).toContain("Table: hit (1 entries)");
    expect(text).toContain("  priority=100,tcp,in_port=1,nw_dst=10.0.0.2,tp_dst=80");
    expect(text).toContain("       nw_dst: 10.0.0.2 -> 10.0.0.9");
    expect(text).toContain("       -> port 2 (p2)");
    expect(text).toContain("Result: out on 2 (nothing was sent)");
  });

  it("with send, the packet goes through the switch for real: rewritten, counted", async () => {
    const { h } = await programmed([{ type: OFPAT.SET_NW_DST, nwAddr: ip("10.0.0.9") }, output(2)]);
    const r = trace(h, WEB, true);
    expect(r.sent).toBe(true);
    await sleep(20);
    expect(h.hosts[1].received).toHaveLength(1);
    const got = h.hosts[1].received[0];
    expect(got.readUInt32BE(14 + 16)).toBe(ip("10.0.0.9"));
    expect(trace(h, WEB).table.entry?.packets).toBe(1);
  });

  it("rewrites of a header the packet lacks change nothing; a pushed VLAN tag shows", async () => {
    const { h } = await programmed(
      [
        { type: OFPAT.SET_TP_DST, tpPort: 99 },
        { type: OFPAT.SET_VLAN_VID, vlanVid: 10 },
        { type: OFPAT.SET_VLAN_PCP, vlanPcp: 5 },
        { type: OFPAT.STRIP_VLAN },
        output(OFPP.IN_PORT),
      ],
      inPortMatch(1),
    );
    const r = trace(h, "in_port=1,arp,nw_src=10.0.0.1,nw_dst=10.0.0.2");
    expect(r.steps.map((s) => s.rewrites)).toEqual([
      [],
      ["dl_vlan: none -> 10"],
      ["dl_vlan_pcp: 0 -> 5"],
      ["dl_vlan: 10 -> none", "dl_vlan_pcp: 5 -> 0"],
      [],
    ]);
    expect(r.outputs).toEqual([{ result: "sent", port: 1, portName: "p1" }]);
    expect(traceText(r)).toContain("(no change: the packet has no such header)");
  });

  it("a flood skips the input port and a port marked NO_FLOOD; ALL does not skip it", async () => {
    const { h, c } = await programmed([output(OFPP.FLOOD), output(OFPP.ALL)], inPortMatch(1));
    setPortFlag(c, 3, OFPPC.NO_FLOOD);
    await barrier(c);
    const r = trace(h, "in_port=1,dl_dst=ff:ff:ff:ff:ff:ff,arp");
    expect(r.steps[0].outputs).toEqual([
      { result: "dropped", port: 1, portName: "p1", why: "FLOOD: the input port" },
      { result: "sent", port: 2, portName: "p2", why: "FLOOD" },
      { result: "dropped", port: 3, portName: "p3", why: "FLOOD: port is no-flood" },
    ]);
    expect(r.steps[1].outputs.filter((o) => o.result === "sent").map((o) => o.port)).toEqual([
      2, 3,
    ]);
    expect(traceText(r)).toContain("dropped at port 3 (p3): FLOOD: port is no-flood");
    expect(traceText(r)).toContain("Result: out on 2, 2, 3");
  });

  it("outputs to a port that is down, absent, or the input port are dropped, and say why", async () => {
    const { h, c } = await programmed(
      [output(2), output(7), output(1), output(OFPP.LOCAL)],
      inPortMatch(1),
    );
    setPortFlag(c, 2, OFPPC.PORT_DOWN);
    await barrier(c);
    const r = trace(h, "in_port=1,dl_type=0x88b5");
    expect(r.steps.map((s) => s.outputs.map((o) => o.why))).toEqual([
      ["port is port-down"],
      ["there is no port 7"],
      [],
      ["LOCAL: ofswitch has no local port"],
    ]);
    expect(r.steps[2].note).toMatch(/never leaves by its input port/);
    expect(r.outputs.every((o) => o.result === "dropped")).toBe(true);
    expect(traceText(r)).toContain("Result: dropped");
  });

  it("a miss with a controller: packet-in to it, with its miss_send_len", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    await barrier(c);
    const r = trace(h, WEB);
    expect(r.table).toEqual({ result: "miss", entries: 0 });
    expect(r.miss?.action).toBe("packet-in");
    expect(r.outputs).toHaveLength(1);
    expect(r.outputs[0].result).toBe("packet-in");
    expect(r.outputs[0].controllers?.[0]).toMatch(
      /^ptcp:0:127\.0\.0\.1 from 127\.0\.0\.1:\d+ \(primary, 128 bytes, buffered\)$/,
    );
    expect(traceText(r)).toMatch(/Table: miss \(no entry matches; 0 entries\)/);
  });

  it("a miss in fail mode secure without a controller is dropped", async () => {
    const h = await startSwitch({ listen: false });
    const r = trace(h, WEB);
    expect(r.miss).toEqual({
      action: "drop",
      why: "no controller takes packet-ins, fail mode secure: dropped",
      outputs: [],
    });
  });

  it("a miss in standalone mode: MAC learning floods an unknown destination, then uses what it learned (the trace learns nothing)", async () => {
    const h = await startSwitch({ listen: false, failMode: "standalone" });
    const unknown = trace(h, WEB);
    expect(unknown.miss?.action).toBe("normal");
    expect(unknown.outputs.filter((o) => o.result === "sent").map((o) => o.port)).toEqual([2, 3]);
    // Tracing did not teach the switch where 02:00:00:00:00:aa is.
    const back = trace(h, "in_port=2,dl_src=02:00:00:00:00:bb,dl_dst=02:00:00:00:00:aa");
    expect(back.outputs.filter((o) => o.result === "sent").map((o) => o.port)).toEqual([1, 3]);
    // A real frame from port 3 teaches it.
    h.inject(
      3,
      eth({ src: "02:00:00:00:00:bb", dst: "02:00:00:00:00:aa", type: 0x88b5 }, [1, 2, 3]),
    );
    await sleep(20);
    const learned = trace(h, WEB);
    expect(learned.outputs).toEqual([
      {
        result: "sent",
        port: 3,
        portName: "p3",
        why: "NORMAL: 02:00:00:00:00:bb learned on this port",
      },
    ]);
  });

  it("CONTROLLER output: a packet-in with the action's max_len", async () => {
    const { h } = await programmed([output(OFPP.CONTROLLER, 64)]);
    const r = trace(h, WEB);
    expect(r.outputs[0]).toMatchObject({ result: "packet-in" });
    expect(r.outputs[0].why).toBe("action");
    expect(r.outputs[0].controllers?.[0]).toMatch(/\(primary, 64 bytes, buffered\)$/);
  });

  it("port flags on the input port: no-recv drops before the table, no-packet-in drops misses", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    setPortFlag(c, 1, OFPPC.NO_RECV);
    setPortFlag(c, 2, OFPPC.NO_PACKET_IN);
    await barrier(c);
    const r1 = trace(h, WEB);
    expect(r1.droppedBeforeLookup).toBe("the input port is no-recv");
    expect(r1.table.result).toBe("not looked up");
    expect(traceText(r1)).toContain("Dropped before the table: the input port is no-recv");
    const r2 = trace(h, WEB.replace("in_port=1", "in_port=2"));
    expect(r2.miss?.why).toBe("the input port is no-packet-in: misses from it are dropped");
  });

  it("an exact-match entry says it outranks the wildcarded ones", async () => {
    const packet = packetFromFlow(WEB);
    const exact: Match = {
      wildcards: 0,
      inPort: 1,
      dlSrc: "02:00:00:00:00:aa",
      dlDst: "02:00:00:00:00:bb",
      dlVlan: 0xffff,
      dlVlanPcp: 0,
      dlType: 0x0800,
      nwTos: 0,
      nwProto: 6,
      nwSrc: ip("10.0.0.1"),
      nwDst: ip("10.0.0.2"),
      tpSrc: 1234,
      tpDst: 80,
    };
    const { h, c } = await programmed([output(2)]);
    c.send(flowMod({ match: exact, priority: 1, actions: [output(3)] }));
    await barrier(c);
    const r = tracePacket(h.sw, packet);
    // Sent with priority 1; wildcards 0 make it 65535, as in Open vSwitch.
    expect(r.table.entry).toMatchObject({ exact: true, priority: 0xffff });
    expect(r.outputs.map((o) => o.port)).toEqual([3]);
    expect(traceText(r)).toContain("priority=65535 (exact match: outranks every wildcarded entry)");
  });

  it("hex bytes trace as the same packet described as a flow", async () => {
    const { h } = await programmed([output(2)]);
    const { frame } = packetFromFlow(WEB);
    const fromHex = tracePacket(h.sw, { inPort: 1, frame: frameFromHex(frame.toString("hex")) });
    expect(fromHex).toEqual(trace(h, WEB));
  });

  it("an input port the switch does not have is refused, naming the ports", async () => {
    const h = await startSwitch({ listen: false });
    expect(() => trace(h, "in_port=9,udp")).toThrow(TraceInputError);
    expect(() => trace(h, "in_port=9,udp")).toThrow(
      "in_port=9: no such port (ports: 1 (p1), 2 (p2), 3 (p3))",
    );
  });
});
