// Sessions accepted on a listener (`-l`, e.g. ovs-ofctl) are Open vSwitch "service" connections:
// they never start or end fail mode or the emergency table, start with miss_send_len 0 and get
// no asynchronous message until they set a nonzero one; only primary controllers (active
// targets) count for fail mode. Their coming and going is logged at info level.
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { OFPC_FRAG, OFPFF, OFPPC, OFPT } from "../../src/openflow/of10/constants.js";
import { parseActiveTarget } from "../../src/ofchannel/targets.js";
import { configToOf } from "../../src/switch/port-wire.js";
import { eth } from "../support/frames.js";
import { waitFor } from "../support/wait.js";
import { ControllerListener, type ControllerPeer } from "./peer.js";
import { barrier, flowMod, inPortMatch, output, sleep, switchPerTest } from "./switch-harness.js";

const startSwitch = switchPerTest();
let ctl: ControllerListener | undefined;
afterEach(async () => {
  await ctl?.close();
  ctl = undefined;
});

const frame = (n: number) =>
  eth({ type: 0x88b5, src: `00:00:00:00:00:0${n}`, dst: "00:00:00:00:00:09" }, [n]);

/** A logger whose lines (level and msg) are kept for the test. */
function capturingLog(): { log: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean)) {
        lines.push(JSON.parse(l) as { level: number; msg: string });
      }
      done();
    },
  });
  return { log: pino({ level: "debug" }, sink), lines };
}

const WARN = 40;
const INFO = 30;
const DEBUG = 20;

/** A switch with a service listener (as `-l`) and one active primary controller. */
async function withPrimary(opts: Parameters<typeof startSwitch>[0] = {}) {
  ctl = await ControllerListener.listen();
  const h = await startSwitch({
    serviceListener: true,
    controllers: [parseActiveTarget(`tcp:127.0.0.1:${ctl.port}`)],
    backoff: { minMs: 20, maxMs: 50 },
    ...opts,
  });
  const primary = await ctl.accept(0);
  await primary.handshake();
  return { h, primary };
}

describe("service sessions (accepted on a listener), as Open vSwitch's", () => {
  it("a service session closing never starts the emergency table or deletes flows; only the primary's loss does", async () => {
    const { log, lines } = capturingLog();
    const { h, primary } = await withPrimary({ log, failMode: "secure" });
    primary.send(flowMod({ match: inPortMatch(1), actions: [output(3)], flags: OFPFF.EMERG }));
    await barrier(primary);
    for (let i = 0; i < 3; i++) {
      const ofctl = await h.connect(); // like ovs-ofctl add-flow: one session per command
      ofctl.send(flowMod({ match: inPortMatch(1), actions: [output(2)], priority: 100 + i }));
      await barrier(ofctl);
      ofctl.close();
      await waitFor(() => h.sw.connmgr.ready.size === 1, "the service session to close");
    }
    expect(h.sw.table.inEmergencyMode).toBe(false);
    expect(h.sw.table.activeCount).toBe(3);
    h.inject(1, frame(1));
    expect([h.hosts[1].received.length, h.hosts[2].received.length]).toEqual([1, 0]);
    expect(lines.filter((l) => l.level >= WARN)).toEqual([]);
    // short management sessions are logged at debug only (as OVS logs its service connections)
    const ofctlLines = lines.filter((l) => /^session (established|closed)/.test(l.msg));
    expect(ofctlLines.slice(1).map((l) => l.level)).toEqual(Array(6).fill(DEBUG));
    expect(ofctlLines[0]).toMatchObject({ level: INFO, role: "primary" });
    primary.close();
    await waitFor(() => h.sw.table.inEmergencyMode, "emergency mode after the primary's loss");
    expect(h.sw.table.activeCount).toBe(0);
    expect(lines.some((l) => l.level === WARN && /all controllers lost/.test(l.msg))).toBe(true);
    // A service session does not end emergency mode either: only a primary controller does.
    const late = await h.connect();
    await barrier(late);
    expect(h.sw.table.inEmergencyMode).toBe(true);
    const back = await ctl!.accept(1, 3000);
    await back.handshake();
    expect(h.sw.table.inEmergencyMode).toBe(false);
  });

  it("standalone: a service session neither cancels fail-open nor ends it; the primary does", async () => {
    const { h, primary } = await withPrimary({ failMode: "standalone", probeIntervalMs: 100 });
    primary.close();
    const ofctl = await h.connect();
    await waitFor(() => h.sw.standaloneActive, "fail-open after 3 probe intervals", 2000);
    await barrier(ofctl);
    h.inject(1, frame(1)); // forwarded by MAC learning despite the connected service session
    expect([h.hosts[1].received.length, h.hosts[2].received.length]).toEqual([1, 1]);
    ofctl.close();
    // Reconnection attempts that found no HELLO within 100 ms were refused meanwhile: answer
    // the next one.
    const back = await ctl!.accept(ctl!.accepted.length, 3000);
    await back.handshake();
    expect(h.sw.standaloneActive).toBe(false);
  });

  it("with only listeners configured, standalone forwards misses from the start", async () => {
    const h = await startSwitch({ serviceListener: true, failMode: "standalone" });
    expect(h.sw.standaloneActive).toBe(true);
    const ofctl = await h.connect();
    await barrier(ofctl);
    expect(h.sw.standaloneActive).toBe(true);
    h.inject(1, frame(1));
    expect([h.hosts[1].received.length, h.hosts[2].received.length]).toEqual([1, 1]);
  });

  it("a service session has miss_send_len 0 and no PACKET_IN, FLOW_REMOVED or PORT_STATUS until it sets one", async () => {
    const { h, primary } = await withPrimary({ failMode: "secure" });
    const svc = await h.connect();
    const config = await svc.request({ type: OFPT.GET_CONFIG_REQUEST, xid: 0 });
    expect(config).toMatchObject({ type: OFPT.GET_CONFIG_REPLY, missSendLen: 0 });
    const events = async (c: ControllerPeer) => {
      c.send(
        flowMod({ match: inPortMatch(3), hardTimeout: 1, flags: OFPFF.SEND_FLOW_REM, priority: 9 }),
      );
      await barrier(c);
      h.inject(1, frame(1)); // a miss
      c.send({
        type: OFPT.PORT_MOD,
        xid: 0,
        portNo: 2,
        hwAddr: "02:00:00:00:00:02",
        config: configToOf(h.ports[1].config) ^ OFPPC.NO_FLOOD, // a change each time
        mask: OFPPC.NO_FLOOD,
        advertise: 0,
      });
      await sleep(1300); // the flow's hard timeout
      await barrier(c);
    };
    await events(svc);
    expect(svc.inbox.map((m) => m.type)).toEqual([]);
    const primaryGot = [OFPT.PACKET_IN, OFPT.PORT_STATUS, OFPT.FLOW_REMOVED];
    for (const t of primaryGot) await primary.expect(t);
    svc.send({ type: OFPT.SET_CONFIG, xid: 0, flags: OFPC_FRAG.NORMAL, missSendLen: 128 });
    await events(svc);
    for (const t of primaryGot) await svc.expect(t);
  });
});
