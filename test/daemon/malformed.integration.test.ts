// Malformed OpenFlow over TCP to the built daemon's listener: each gets the right error, the
// session (or, after an unrecoverable framing error, the daemon) stays up, and the switch keeps
// forwarding between namespaced hosts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeMessage } from "../../src/openflow/of10/codec.js";
import { OFPBAC, OFPBRC, OFPET, OFPT } from "../../src/openflow/of10/constants.js";
import { ControllerPeer } from "../switch/peer.js";
import { flowMod, inPortMatch, output } from "../switch/switch-harness.js";
import { labPrefix, Topology } from "../support/netns.js";
import { netnsMissing, skipWithout } from "../support/prereq.js";
import { ensureBuilt, startListeningDaemon, type Proc } from "../support/daemon.js";

const skip = skipWithout(import.meta.url, netnsMissing());

describe.skipIf(skip)("ofswitch daemon: malformed messages over TCP", () => {
  let topo: Topology;
  let daemon: Proc | undefined;
  let port = 0;

  const ping = () => topo.runIn(0, `ping -c 2 -i 0.2 -W 1 ${topo.hosts[1].ip}`, 10_000);

  beforeAll(async () => {
    ensureBuilt();
    topo = Topology.create(labPrefix("dm"), 2);
    ({ daemon, port } = await startListeningDaemon(topo.hosts.map((h) => h.switchIf)));
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    topo?.teardown();
  });

  it("answers each malformed message with its error and keeps the session and forwarding", async () => {
    const c = await ControllerPeer.connect(port);
    try {
      c.send(flowMod({ match: inPortMatch(1), actions: [output(2)] }));
      c.send(flowMod({ match: inPortMatch(2), actions: [output(1)] }));
      await c.request({ type: OFPT.BARRIER_REQUEST, xid: 0 });
      expect((await ping()).stdout).toMatch(/2 received/);
      const cases: [string, Buffer, number, number][] = [
        [
          "header-only message with a body",
          Buffer.from("0112000c0000000101020304", "hex"),
          OFPET.BAD_REQUEST,
          OFPBRC.BAD_LEN,
        ],
        [
          "unknown message type",
          Buffer.from("01ee000800000002", "hex"),
          OFPET.BAD_REQUEST,
          OFPBRC.BAD_TYPE,
        ],
        [
          "wrong version",
          Buffer.from("0205000800000003", "hex"),
          OFPET.BAD_REQUEST,
          OFPBRC.BAD_VERSION,
        ],
      ];
      const trunc = encodeMessage(flowMod({ xid: 4, actions: [output(2)] }));
      trunc.writeUInt16BE(24, 72 + 2); // action length beyond the message
      cases.push(["truncated action", trunc, OFPET.BAD_ACTION, OFPBAC.BAD_LEN]);
      const shortPo = Buffer.from("010d00100000000500000000000000ff", "hex"); // actions_len past the end
      cases.push(["packet_out actions_len too long", shortPo, OFPET.BAD_REQUEST, OFPBRC.BAD_LEN]);
      for (const [what, bytes, errType, code] of cases) {
        c.sendRaw(bytes);
        const err = await c.expect(OFPT.ERROR);
        expect([what, err.errType, err.code]).toEqual([what, errType, code]);
        expect(err.xid).toBe(bytes.readUInt32BE(4));
        expect(err.data).toEqual(bytes.subarray(0, 64));
      }
      expect((await c.request({ type: OFPT.FEATURES_REQUEST, xid: 0 })).type).toBe(
        OFPT.FEATURES_REPLY,
      );
      expect((await ping()).stdout).toMatch(/2 received/);
    } finally {
      c.close();
    }
  });

  it("closes a session whose length field is below 8 bytes, and keeps serving others", async () => {
    const c = await ControllerPeer.connect(port);
    c.sendRaw(Buffer.from("0102000300000009", "hex"));
    const err = await c.expect(OFPT.ERROR);
    expect([err.errType, err.code]).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_LEN]);
    await c.waitClosed();
    const d = await ControllerPeer.connect(port);
    expect((await d.request({ type: OFPT.FEATURES_REQUEST, xid: 0 })).type).toBe(
      OFPT.FEATURES_REPLY,
    );
    d.close();
    expect((await ping()).stdout).toMatch(/2 received/);
    expect(daemon!.running).toBe(true);
  });
});
