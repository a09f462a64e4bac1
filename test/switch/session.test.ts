import { describe, expect, it } from "vitest";
import { encodeMessage } from "../../src/openflow/of10/codec.js";
import { OFPBAC, OFPBRC, OFPET, OFPHFC, OFPT } from "../../src/openflow/of10/constants.js";
import { tcpFrame } from "../support/frames.js";
import { parseActiveTarget } from "../../src/ofchannel/targets.js";
import { waitFor } from "../support/wait.js";
import { ControllerListener, ControllerPeer } from "./peer.js";
import {
  flowMod,
  inPortMatch,
  output,
  switchPerTest,
  type Harness,
  errorOf,
} from "./switch-harness.js";

const startSwitch = switchPerTest();

/** The session still works: a flow forwards and a FEATURES_REQUEST is answered. */
async function stillForwards(h: Harness, c: ControllerPeer): Promise<void> {
  c.send(flowMod({ match: inPortMatch(1), actions: [output(2)] }));
  await c.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
  const before = h.hosts[1].received.length;
  h.inject(1, tcpFrame());
  expect(h.hosts[1].received.length).toBe(before + 1);
  expect((await c.request({ type: OFPT.FEATURES_REQUEST, xid: 0 })).type).toBe(OFPT.FEATURES_REPLY);
}

describe("OpenFlowChannel on the switch: HELLO", () => {
  it("sends HELLO at once and settles on OpenFlow 1.0 with a newer peer", async () => {
    const h = await startSwitch();
    const c = await ControllerPeer.connect(h.listenPort, false);
    const hello = await c.expect(OFPT.HELLO);
    expect(hello.version).toBe(1);
    c.sendRaw(Buffer.from("0400000800000001", "hex")); // an OF1.3 HELLO without a bitmap
    expect((await c.request({ type: OFPT.FEATURES_REQUEST, xid: 0 })).type).toBe(
      OFPT.FEATURES_REPLY,
    );
    c.close();
  });

  it("refuses a peer whose version bitmap lacks 1.0, and version 0", async () => {
    const h = await startSwitch();
    for (const hex of ["04000010000000020001000800000010", "0000000800000003"]) {
      const c = await ControllerPeer.connect(h.listenPort, false);
      c.sendRaw(Buffer.from(hex, "hex"));
      const err = await c.expect(OFPT.ERROR);
      expect([err.errType, err.code]).toEqual([OFPET.HELLO_FAILED, OFPHFC.INCOMPATIBLE]);
      expect(err.data.toString("latin1")).toMatch(/version/);
      await c.waitClosed();
    }
  });

  it("refuses a session whose first message is not HELLO", async () => {
    const h = await startSwitch();
    const c = await ControllerPeer.connect(h.listenPort, false);
    c.send({ type: OFPT.FEATURES_REQUEST, xid: 9 });
    const err = await c.expect(OFPT.ERROR);
    expect(err.errType).toBe(OFPET.HELLO_FAILED);
    await c.waitClosed();
  });
});

describe("OpenFlowChannel on the switch: malformed messages", () => {
  it("answers bad lengths, unknown types, bad versions and truncated actions, and keeps forwarding", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    // FEATURES_REQUEST with 4 stray bytes: BAD_LEN, xid echoed.
    c.sendRaw(Buffer.from("0105000c0000abcd01020304", "hex"));
    const badLen = await c.expect(OFPT.ERROR);
    expect(errorOf(badLen)).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_LEN]);
    expect(badLen.xid).toBe(0xabcd);
    expect(badLen.data.toString("hex")).toBe("0105000c0000abcd01020304");
    // Unknown message type 0x30.
    c.sendRaw(Buffer.from("013000080000abce", "hex"));
    expect(errorOf(await c.expect(OFPT.ERROR))).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE]);
    // Version 4 after negotiating 1.0.
    c.sendRaw(Buffer.from("040500080000abcf", "hex"));
    expect(errorOf(await c.expect(OFPT.ERROR))).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION]);
    // FLOW_MOD whose output action claims 16 bytes but only 8 follow.
    const fm = encodeMessage(flowMod({ xid: 0xabd0, actions: [output(2)] }));
    fm.writeUInt16BE(16, 72 + 2);
    c.sendRaw(fm);
    const trunc = await c.expect(OFPT.ERROR);
    expect(errorOf(trunc)).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_LEN]);
    expect(trunc.xid).toBe(0xabd0);
    await stillForwards(h, c);
    expect(h.sw.table.activeCount).toBe(1);
  });

  it("answers a length below the header size with BAD_LEN and closes (the stream cannot be resynchronised)", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    c.sendRaw(Buffer.from("0102000400000005", "hex"));
    const err = await c.expect(OFPT.ERROR);
    expect(errorOf(err)).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_LEN]);
    await c.waitClosed();
    const again = await h.connect();
    await stillForwards(h, again);
  });

  it("answers ECHO_REQUEST with the same xid and payload", async () => {
    const h = await startSwitch();
    const c = await h.connect();
    const r = await c.request({ type: OFPT.ECHO_REQUEST, xid: 0, data: Buffer.from("ping") });
    expect(r.type === OFPT.ECHO_REPLY && r.data.toString()).toBe("ping");
  });
});

describe("OpenFlowChannel on the switch: inactivity probe", () => {
  it("probes an idle line and disconnects when the probe is not answered", async () => {
    const h = await startSwitch({ probeIntervalMs: 150 });
    const c = await h.connect();
    c.answerEchoes = false;
    const t0 = Date.now();
    await c.expect(OFPT.ECHO_REQUEST, 1000);
    const probed = Date.now() - t0;
    await c.waitClosed(1000);
    const closed = Date.now() - t0;
    expect(probed).toBeGreaterThanOrEqual(100);
    expect(closed - probed).toBeGreaterThanOrEqual(100);
  });

  it("keeps a session whose peer answers the probes", async () => {
    const h = await startSwitch({ probeIntervalMs: 100 });
    const c = await h.connect();
    await c.expect(OFPT.ECHO_REQUEST, 1000);
    await c.expect(OFPT.ECHO_REQUEST, 1000);
    await c.expect(OFPT.ECHO_REQUEST, 1000);
    expect(c.closed).toBe(false);
    expect(h.sw.connmgr.ready.size).toBe(1);
  });
});

describe("OpenFlowChannel on the switch: how sessions read", () => {
  for (const directReads of [true, false]) {
    it(`directReads ${directReads}: sessions on a listener and to an active target work alike`, async () => {
      const ctl = await ControllerListener.listen();
      try {
        const h = await startSwitch({
          directReads,
          controllers: [parseActiveTarget(`tcp:127.0.0.1:${ctl.port}`)],
        });
        const passive = await h.connect();
        const active = await ctl.accept(0, 3000);
        await active.handshake();
        await waitFor(() => h.sw.connmgr.ready.size === 2, "both sessions");
        for (const ch of h.sw.connmgr.ready) expect(ch.readsDirect).toBe(directReads);
        await stillForwards(h, passive);
        await stillForwards(h, active);
      } finally {
        await ctl.close();
      }
    });
  }
});
