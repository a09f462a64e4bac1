// The learning switch and the hub against a fake switch: what they send for each packet-in.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import {
  OFPAT,
  OFPP,
  OFPT,
  OFP_NO_BUFFER,
  OFP_VLAN_NONE,
} from "../../src/openflow/of10/constants.js";
import { Controller, type SwitchHandle } from "../../src/controller/index.js";
import { learningSwitch } from "../../src/controller/apps/learning-switch.js";
import { hub } from "../../src/controller/apps/hub.js";
import { eth, ipNum, mac, udpFrame } from "../support/frames.js";
import { FakeSwitch, logSink, nextEvent, phyPort } from "./fake-switch.js";

let controller: Controller;
let fake: FakeSwitch;
let port: number;

beforeEach(async () => {
  controller = new Controller({ logger: pino({ level: "warn" }, logSink()) });
  port = (await controller.listen("ptcp:0")).port;
});
afterEach(async () => {
  fake?.close();
  await controller.close();
});

async function join(dpid = 1n) {
  const joined = nextEvent<[SwitchHandle]>((f) => controller.register("join", f));
  const sw = await FakeSwitch.joined(port, dpid, [phyPort(1), phyPort(2), phyPort(3)]);
  await joined;
  return sw;
}

const H1 = "02:00:00:00:00:01";
const H2 = "02:00:00:00:00:02";

function packetIn(sw: FakeSwitch, frame: Buffer, inPort: number, bufferId: number) {
  sw.send({
    type: OFPT.PACKET_IN,
    xid: 0,
    bufferId,
    totalLen: frame.length,
    inPort,
    reason: 0,
    data: frame,
  });
}

function withMacs(frame: Buffer, src: string, dst: string): Buffer {
  Buffer.from(mac(dst)).copy(frame, 0);
  Buffer.from(mac(src)).copy(frame, 6);
  return frame;
}

const flood = [{ type: OFPAT.OUTPUT, port: OFPP.FLOOD, maxLen: 0 }];

describe("learning switch", () => {
  beforeEach(() => void learningSwitch(controller, { idleTimeout: 60 }));

  it("floods an unknown destination, then installs an exact flow with the buffer once learned", async () => {
    fake = await join();
    packetIn(fake, withMacs(udpFrame(), H1, H2), 1, 100);
    const out = await fake.expect(OFPT.PACKET_OUT);
    expect(out).toMatchObject({ bufferId: 100, inPort: 1, actions: flood });
    // H2 answers from port 2: H1 is known (port 1), so an exact flow goes in.
    packetIn(fake, withMacs(udpFrame({ sport: 53, dport: 4000 }), H2, H1), 2, 101);
    const fm = await fake.expect(OFPT.FLOW_MOD);
    expect(fm).toMatchObject({ bufferId: 101, idleTimeout: 60, hardTimeout: 0 });
    expect(fm.actions).toEqual([{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }]);
    expect(fm.match).toEqual({
      wildcards: 0,
      inPort: 2,
      dlSrc: H2,
      dlDst: H1,
      dlVlan: OFP_VLAN_NONE,
      dlVlanPcp: 0,
      dlType: 0x0800,
      nwTos: 0,
      nwProto: 17,
      nwSrc: ipNum("10.0.0.1"),
      nwDst: ipNum("10.0.0.2"),
      tpSrc: 53,
      tpDst: 4000,
    });
    expect(fake.received.filter((m) => m.type === OFPT.PACKET_OUT)).toHaveLength(0);
  });

  it("sends the data with PACKET_OUT when the switch did not buffer the packet", async () => {
    fake = await join();
    packetIn(fake, eth({ src: H2, dst: H1, type: 0x0800 }, new Array(46).fill(0)), 2, 7);
    await fake.expect(OFPT.PACKET_OUT);
    const frame = eth({ src: H1, dst: H2, type: 0x0800 }, new Array(46).fill(0));
    packetIn(fake, frame, 1, OFP_NO_BUFFER);
    const fm = await fake.expect(OFPT.FLOW_MOD);
    expect(fm.bufferId).toBe(OFP_NO_BUFFER);
    const po = await fake.expect(OFPT.PACKET_OUT);
    expect(po.data.equals(frame)).toBe(true);
    expect(po.actions).toEqual([{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }]);
  });

  it("floods broadcasts, never learns a multicast source, and keeps tables per datapath", async () => {
    fake = await join(1n);
    packetIn(fake, eth({ src: H2, dst: "ff:ff:ff:ff:ff:ff", type: 0x0806 }, []), 2, 1);
    expect((await fake.expect(OFPT.PACKET_OUT)).actions).toEqual(flood);
    packetIn(fake, eth({ src: "01:00:5e:00:00:01", dst: H2, type: 0x0800 }, []), 3, 2);
    await fake.expect(OFPT.FLOW_MOD); // H2 is known on switch 1
    packetIn(fake, eth({ src: H1, dst: "01:00:5e:00:00:01", type: 0x0800 }, []), 1, 3);
    expect((await fake.expect(OFPT.PACKET_OUT)).actions).toEqual(flood);
    const other = await join(2n);
    try {
      packetIn(other, eth({ src: H1, dst: H2, type: 0x0800 }, []), 1, 4);
      expect((await other.expect(OFPT.PACKET_OUT)).actions).toEqual(flood); // not known on 2
    } finally {
      other.close();
    }
  });

  it("drops a packet whose destination is behind its own input port with a drop flow", async () => {
    // As Open vSwitch's lswitch: the exact match with no actions, carrying the buffer (which the
    // switch frees), so later packets of the flow are dropped by the switch, not punted again.
    fake = await join();
    packetIn(fake, eth({ src: H2, dst: H1, type: 0x0800 }, []), 1, 1);
    await fake.expect(OFPT.PACKET_OUT);
    const frame = eth({ src: H1, dst: H2, type: 0x0800 }, []);
    packetIn(fake, frame, 1, 2);
    const fm = await fake.expect(OFPT.FLOW_MOD);
    expect(fm).toMatchObject({ bufferId: 2, idleTimeout: 60, command: 0, actions: [] });
    expect(fm.match).toMatchObject({ wildcards: 0, inPort: 1, dlSrc: H1, dlDst: H2 });
    // Unbuffered: the drop flow alone, no PACKET_OUT of the data.
    packetIn(fake, frame, 1, OFP_NO_BUFFER);
    expect(await fake.expect(OFPT.FLOW_MOD)).toMatchObject({
      bufferId: OFP_NO_BUFFER,
      actions: [],
    });
    fake.send({ type: OFPT.ECHO_REQUEST, xid: 9, data: Buffer.alloc(0) });
    await fake.expect(OFPT.ECHO_REPLY);
    expect(fake.received).toHaveLength(0);
  });
});

describe("hub", () => {
  it("floods every packet, by buffer or by data", async () => {
    hub(controller);
    fake = await join();
    const frame = eth({ src: H1, dst: H2, type: 0x0800 }, []);
    packetIn(fake, frame, 1, 5);
    expect(await fake.expect(OFPT.PACKET_OUT)).toMatchObject({ bufferId: 5, actions: flood });
    packetIn(fake, frame, 3, OFP_NO_BUFFER);
    const po = await fake.expect(OFPT.PACKET_OUT);
    expect([po.bufferId, po.inPort, po.data.equals(frame)]).toEqual([OFP_NO_BUFFER, 3, true]);
  });
});
