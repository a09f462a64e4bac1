// The switch's side of port events, without a network: the datapath id stays what it was at
// start whatever happens to the port it came from, and standalone mode forwards a miss with
// its receive offload state (IPv6 GSO frames go out whole, not as oversize drops).
import { afterEach, describe, expect, it } from "vitest";
import { MemoryPort } from "../support/memory-port.js";
import { RxOffload, VNET_GSO } from "../../src/datapath/vnet.js";
import { OpenFlowSwitch } from "../../src/switch/switch.js";
import { datapathIdFromMac } from "../../src/switch/switch-features.js";
import { tcpv6GsoFrame } from "../support/frames.js";
import { memoryLogger } from "../support/log-sink.js";
import { OffloadSink } from "../support/offload-sink.js";

const running: OpenFlowSwitch[] = [];
afterEach(async () => {
  for (const sw of running.splice(0)) await sw.stop();
});

function newSwitch(opts: { datapathId?: bigint } = {}): OpenFlowSwitch {
  const sw = new OpenFlowSwitch({ log: memoryLogger().log, failMode: "standalone", ...opts });
  running.push(sw);
  return sw;
}

describe("the datapath id", () => {
  it("is derived once, at start, and survives its port going away and coming back", async () => {
    const sw = newSwitch();
    const [p1] = MemoryPort.pair(1, "p1", "02:00:00:00:00:11");
    const [p2] = MemoryPort.pair(2, "p2", "02:00:00:00:00:22");
    sw.addPort(p1);
    sw.addPort(p2);
    await sw.start();
    const dpid = datapathIdFromMac("02:00:00:00:00:11");
    expect(sw.datapathId).toBe(dpid);
    p1.present = false;
    sw.datapath.tick();
    expect(sw.datapath.ports().map((p) => p.portNo)).toEqual([2]);
    expect(sw.datapathId).toBe(dpid);
    sw.datapath.removePort(1);
    expect(sw.datapathId).toBe(dpid);
  });

  it("is the given one when there is one", async () => {
    const sw = newSwitch({ datapathId: 0xabcn });
    sw.addPort(MemoryPort.pair(1, "p1", "02:00:00:00:00:11")[0]);
    await sw.start();
    expect(sw.datapathId).toBe(0xabcn);
  });
});

describe("standalone mode", () => {
  it("forwards an IPv6 GSO frame whole, with the offload state it was received with", async () => {
    const sw = newSwitch();
    const a = new OffloadSink(1, "a");
    const b = new OffloadSink(2, "b");
    sw.addPort(a);
    sw.addPort(b);
    await sw.start();
    expect(sw.standaloneActive).toBe(true);
    const g = tcpv6GsoFrame(20_000);
    const rx = new RxOffload();
    Object.assign(rx, { gsoType: VNET_GSO.TCPV6, gsoSize: g.gsoSize, csumPartial: true });
    Object.assign(rx, { csumStart: g.csumStart, csumOffset: g.csumOffset });
    a.rxOffload = rx;
    sw.datapath.receive(a, g.frame, g.frame.length);
    expect(sw.stats.standaloneForwarded).toBe(1);
    expect(b.sent.map((s) => [s.gsoType, s.gsoSize, s.csumStart, s.frame.length])).toEqual([
      [VNET_GSO.TCPV6, g.gsoSize, g.csumStart, g.frame.length],
    ]);
    expect(sw.datapath.egress.stats.oversizeDrops).toBe(0);
  });
});
