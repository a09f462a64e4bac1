import { afterEach, describe, expect, it } from "vitest";
import { ActiveConnector } from "../../src/ofchannel/active.js";
import { OFPFF, OFPT } from "../../src/openflow/of10/constants.js";
import { parseActiveTarget } from "../../src/ofchannel/targets.js";
import { eth } from "../support/frames.js";
import { ControllerListener } from "./peer.js";
import { flowMod, inPortMatch, output, silentLog, sleep, switchPerTest } from "./switch-harness.js";

const startSwitch = switchPerTest();
let ctl: ControllerListener | undefined;
afterEach(async () => {
  await ctl?.close();
  ctl = undefined;
});

const fromHost = (n: number, dst: number) =>
  eth({ type: 0x88b5, src: `00:00:00:00:00:0${n}`, dst: `00:00:00:00:00:0${dst}` }, [n, dst]);

describe("fail modes", () => {
  it("secure: without a controller misses are dropped and existing flows keep working", async () => {
    const h = await startSwitch({ failMode: "secure", probeIntervalMs: 100 });
    const c = await h.connect();
    c.send(flowMod({ match: inPortMatch(1), actions: [output(2)] }));
    await c.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
    c.close();
    await waitFor(() => h.sw.connmgr.ready.size === 0);
    await sleep(400); // well past 3 probe intervals
    h.inject(1, fromHost(1, 2));
    h.inject(3, fromHost(3, 1));
    expect(h.hosts[1].received).toHaveLength(1);
    expect(h.hosts[0].received).toHaveLength(0);
    expect(h.sw.stats.missesDropped).toBe(1);
    expect(h.sw.standaloneActive).toBe(false);
  });

  it("standalone: learns MACs once the controllers are gone for 3 probe intervals, stops when one returns", async () => {
    const h = await startSwitch({ failMode: "standalone", probeIntervalMs: 100 });
    const c = await h.connect();
    c.close();
    await waitFor(() => h.sw.connmgr.ready.size === 0);
    h.inject(1, fromHost(1, 2)); // within the grace period: dropped
    expect(h.sw.stats.missesDropped).toBe(1);
    await waitFor(() => h.sw.standaloneActive, 1000);
    h.inject(1, fromHost(1, 2)); // unknown destination: flooded
    expect([h.hosts[1].received.length, h.hosts[2].received.length]).toEqual([1, 1]);
    h.inject(2, fromHost(2, 1)); // learned: only to port 1
    expect([h.hosts[0].received.length, h.hosts[2].received.length]).toEqual([1, 1]);
    const back = await h.connect();
    expect(h.sw.standaloneActive).toBe(false);
    h.inject(2, fromHost(2, 1));
    await back.expect(OFPT.PACKET_IN);
    expect(h.hosts[0].received).toHaveLength(1);
  });

  it("standalone with no controller configured learns from the start", async () => {
    const h = await startSwitch({ failMode: "standalone", listen: false });
    expect(h.sw.standaloneActive).toBe(true);
    h.inject(1, fromHost(1, 2));
    expect(h.hosts[1].received).toHaveLength(1);
  });

  it("uses the emergency flow table once every controller is gone", async () => {
    const h = await startSwitch({ failMode: "secure" });
    const c = await h.connect();
    c.send(flowMod({ match: inPortMatch(1), actions: [output(2)] }));
    c.send(flowMod({ match: inPortMatch(1), actions: [output(3)], flags: OFPFF.EMERG }));
    await c.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
    h.inject(1, fromHost(1, 2));
    expect([h.hosts[1].received.length, h.hosts[2].received.length]).toEqual([1, 0]);
    c.close();
    await waitFor(() => h.sw.table.inEmergencyMode);
    h.inject(1, fromHost(1, 2));
    expect([h.hosts[1].received.length, h.hosts[2].received.length]).toEqual([1, 1]);
    expect(h.sw.table.activeCount).toBe(0);
    await h.connect();
    expect(h.sw.table.inEmergencyMode).toBe(false);
  });
});

describe("active controllers", () => {
  it("connects, and reconnects within a second after an established session ends", async () => {
    ctl = await ControllerListener.listen();
    const h = await startSwitch({
      listen: false,
      controllers: [parseActiveTarget(`tcp:127.0.0.1:${ctl.port}`)],
    });
    const first = await ctl.accept(0);
    await first.handshake();
    const t0 = Date.now();
    first.close();
    const second = await ctl.accept(1, 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    await second.handshake();
    expect(h.sw.connmgr.ready.size).toBe(1);
  });

  it("backs off 1x, 2x, 4x, then the maximum across failed attempts", async () => {
    const free = await ControllerListener.listen();
    const port = free.port;
    await free.close(); // nothing listens there now
    const times: number[] = [];
    const opened: unknown[] = [];
    const a = new ActiveConnector(
      parseActiveTarget(`tcp:127.0.0.1:${port}`),
      (s) => opened.push(s),
      silentLog,
      {
        minMs: 40,
        maxMs: 160,
      },
    );
    const origAttempt = (a as unknown as { attempt: () => void }).attempt.bind(a);
    (a as unknown as { attempt: () => void }).attempt = () => {
      times.push(performance.now());
      origAttempt();
    };
    expect([1, 2, 3, 4, 5].map((n) => a.backoffMs(n))).toEqual([40, 80, 160, 160, 160]);
    a.start();
    await waitFor(() => times.length >= 5, 2000);
    a.stop();
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    const expected = [40, 80, 160, 160];
    gaps.slice(0, 4).forEach((g, i) => expect(g).toBeGreaterThanOrEqual(expected[i] - 5));
    expect(opened).toEqual([]);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}
