// The switch's side of port events, without a network: the datapath id stays what it was at
// start whatever happens to the port it came from.
import { afterEach, describe, expect, it } from "vitest";
import { MemoryPort } from "../../src/datapath/port.js";
import { OpenFlowSwitch } from "../../src/ofchannel/switch.js";
import { datapathIdFromMac } from "../../src/ofchannel/switch-features.js";
import { memoryLogger } from "../support/log-sink.js";

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
