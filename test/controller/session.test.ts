// Handshake, version negotiation, keepalive, disconnect detection and the events of joined
// switches, against a fake switch (the codec over a real TCP socket on 127.0.0.1).
import { createServer, type AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import {
  OFPET,
  OFPHFC,
  OFPPR,
  OFPRR,
  OFPT,
  OFP_NO_BUFFER,
} from "../../src/openflow/of10/constants.js";
import { Controller, STOP, type SwitchHandle } from "../../src/controller/index.js";
import { matchAll } from "../../src/controller/match.js";
import { FakeSwitch, logSink, nextEvent, phyPort } from "./fake-switch.js";

let controller: Controller;
let port: number;
let log: ReturnType<typeof logSink>;
const switches: FakeSwitch[] = [];

async function start(options: ConstructorParameters<typeof Controller>[0] = {}) {
  log = logSink();
  controller = new Controller({ logger: pino({ level: "debug" }, log), ...options });
  port = (await controller.listen("ptcp:0")).port;
}

async function joined(dpid = 1n, ports = [phyPort(1), phyPort(2)]) {
  const sw = await FakeSwitch.joined(port, dpid, ports);
  switches.push(sw);
  return sw;
}

const packetIn = (data: Buffer) =>
  ({
    type: OFPT.PACKET_IN,
    xid: 0,
    bufferId: OFP_NO_BUFFER,
    totalLen: 60,
    inPort: 1,
    reason: 0,
    data,
  }) as const;

beforeEach(() => start());
afterEach(async () => {
  for (const s of switches.splice(0)) s.close();
  await controller.close();
});

describe("handshake", () => {
  it("answers HELLO, asks for features and emits join with datapath id, features and ports", async () => {
    const join = nextEvent<[SwitchHandle]>((f) => controller.register("join", f));
    await joined(0xabcdefn, [phyPort(1, "p1"), phyPort(7, "p7")]);
    const [sw] = await join;
    expect(sw.datapathId).toBe(0xabcdefn);
    expect(sw.dpid).toBe("0000000000abcdef");
    expect(sw.features.nBuffers).toBe(256);
    expect([...sw.ports.keys()]).toEqual([1, 7]);
    expect(sw.ports.get(7)?.name).toBe("p7");
    expect(controller.switches.get(0xabcdefn)).toBe(sw);
  });

  it("sends its own HELLO with version 1 before hearing from the switch", async () => {
    const sw = await FakeSwitch.open(port);
    switches.push(sw);
    const hello = await sw.expect(OFPT.HELLO);
    expect(hello.version).toBe(1);
    expect(sw.received).toHaveLength(0); // no FEATURES_REQUEST before the switch's HELLO
  });

  it("accepts a later-version HELLO whose version bitmap includes 1.0", async () => {
    const sw = await FakeSwitch.open(port);
    switches.push(sw);
    // OF1.3 hello element: type 1 (VERSIONBITMAP), length 8, bitmap with bits 1 and 4.
    const body = Buffer.from("0001000800000012", "hex");
    sw.send({ type: OFPT.HELLO, xid: 1, version: 4, body });
    await sw.expect(OFPT.FEATURES_REQUEST);
  });

  for (const [what, version, body] of [
    ["version 0", 0, ""],
    ["a version bitmap without 1.0", 4, "0001000800000010"],
  ] as const) {
    it(`fails the handshake with HELLO_FAILED/INCOMPATIBLE for ${what}`, async () => {
      const sw = await FakeSwitch.open(port);
      switches.push(sw);
      sw.send({ type: OFPT.HELLO, xid: 1, version, body: Buffer.from(body, "hex") });
      const err = await sw.expect(OFPT.ERROR);
      expect([err.errType, err.code]).toEqual([OFPET.HELLO_FAILED, OFPHFC.INCOMPATIBLE]);
      expect(err.data.toString("latin1")).toMatch(/only 0x01 is supported/);
      await sw.closedByPeer();
      expect(controller.switches.size).toBe(0);
    });
  }

  it("closes a connection whose first message is not HELLO", async () => {
    const sw = await FakeSwitch.open(port);
    switches.push(sw);
    sw.send({ type: OFPT.FEATURES_REQUEST, xid: 3 });
    const err = await sw.expect(OFPT.ERROR);
    expect(err.errType).toBe(OFPET.HELLO_FAILED);
    await sw.closedByPeer();
  });

  it("closes a connection that does not finish the handshake in time", async () => {
    await controller.close();
    await start({ handshakeTimeoutMs: 150 });
    const sw = await FakeSwitch.open(port);
    switches.push(sw);
    sw.send({ type: OFPT.HELLO, xid: 1, version: 1, body: Buffer.alloc(0) });
    await sw.expect(OFPT.FEATURES_REQUEST);
    await sw.closedByPeer();
    expect(log.lines.some((l) => String(l.reason ?? l.msg).includes("no handshake"))).toBe(true);
  });

  it("replaces the connection of a datapath that connects again", async () => {
    const firstJoin = nextEvent<[SwitchHandle]>((f) => controller.register("join", f));
    const first = await joined(5n);
    await firstJoin;
    const leave = nextEvent<[SwitchHandle, string]>((f) => controller.register("leave", f));
    const join = nextEvent<[SwitchHandle]>((f) => controller.register("join", f));
    await joined(5n);
    const [[oldSw, reason], [newSw]] = await Promise.all([leave, join]);
    expect(reason).toMatch(/replaced/);
    expect(oldSw).not.toBe(newSw);
    await first.closedByPeer();
    expect(controller.switches.get(5n)).toBe(newSw);
  });
});

describe("keepalive and disconnect", () => {
  it("answers ECHO_REQUEST with the same xid and data", async () => {
    const sw = await joined();
    sw.send({ type: OFPT.ECHO_REQUEST, xid: 77, data: Buffer.from("ping") });
    const reply = await sw.expect(OFPT.ECHO_REPLY);
    expect(reply.xid).toBe(77);
    expect(reply.data.toString()).toBe("ping");
  });

  it("probes an idle switch with ECHO_REQUEST and keeps it while it answers", async () => {
    await controller.close();
    await start({ echoIntervalMs: 100, echoTimeoutMs: 150 });
    const sw = await joined();
    for (let i = 0; i < 3; i++) {
      const req = await sw.expect(OFPT.ECHO_REQUEST, 1000);
      sw.send({ type: OFPT.ECHO_REPLY, xid: req.xid, data: req.data });
    }
    expect(sw.closed).toBe(false);
    expect(controller.switches.size).toBe(1);
  });

  it("disconnects a switch that leaves an echo request unanswered", async () => {
    await controller.close();
    await start({ echoIntervalMs: 100, echoTimeoutMs: 100 });
    const leave = nextEvent<[SwitchHandle, string]>((f) => controller.register("leave", f));
    const sw = await joined();
    await sw.expect(OFPT.ECHO_REQUEST, 1000);
    const [, reason] = await leave;
    expect(reason).toMatch(/no reply to echo request/);
    await sw.closedByPeer();
  });

  it("emits leave when the switch closes its connection", async () => {
    const join = nextEvent<[SwitchHandle]>((f) => controller.register("join", f));
    const sw = await joined(9n);
    const [handle] = await join;
    const leave = nextEvent<[SwitchHandle, string]>((f) => controller.register("leave", f));
    sw.close();
    const [left, reason] = await leave;
    expect(left).toBe(handle);
    expect(reason).toMatch(/closed by peer/);
    expect(handle.connected).toBe(false);
    expect(controller.switches.size).toBe(0);
  });
});

describe("events from a joined switch", () => {
  const frame = Buffer.from("ffffffffffff0200000000010806" + "00".repeat(46), "hex");

  it("packet-in", async () => {
    const ev = nextEvent<[SwitchHandle, { inPort: number; bufferId: number; data: Buffer }]>((f) =>
      controller.register("packet-in", f),
    );
    const sw = await joined();
    sw.send({
      type: OFPT.PACKET_IN,
      xid: 0,
      bufferId: 42,
      totalLen: 60,
      inPort: 2,
      reason: 0,
      data: frame,
    });
    const [handle, msg] = await ev;
    expect(handle.datapathId).toBe(1n);
    expect([msg.inPort, msg.bufferId]).toEqual([2, 42]);
    expect(msg.data.equals(frame)).toBe(true);
  });

  it("flow-removed", async () => {
    const ev = nextEvent<[SwitchHandle, { reason: number; packetCount: bigint }]>((f) =>
      controller.register("flow-removed", f),
    );
    const sw = await joined();
    sw.send({
      type: OFPT.FLOW_REMOVED,
      xid: 0,
      match: matchAll(),
      cookie: 7n,
      priority: 100,
      reason: OFPRR.IDLE_TIMEOUT,
      durationSec: 3,
      durationNsec: 0,
      idleTimeout: 60,
      packetCount: 12n,
      byteCount: 1200n,
    });
    const [, msg] = await ev;
    expect(msg.reason).toBe(OFPRR.IDLE_TIMEOUT);
    expect(msg.packetCount).toBe(12n);
  });

  it("port-status, with the handle's ports kept current", async () => {
    const join = nextEvent<[SwitchHandle]>((f) => controller.register("join", f));
    const sw = await joined();
    const [handle] = await join;
    const add = nextEvent<[SwitchHandle, { reason: number }]>((f) =>
      controller.register("port-status", f),
    );
    sw.send({ type: OFPT.PORT_STATUS, xid: 0, reason: OFPPR.ADD, desc: phyPort(3, "new") });
    expect((await add)[1].reason).toBe(OFPPR.ADD);
    expect(handle.ports.get(3)?.name).toBe("new");
    const del = nextEvent((f) => controller.register("port-status", f));
    sw.send({ type: OFPT.PORT_STATUS, xid: 0, reason: OFPPR.DELETE, desc: phyPort(1) });
    await del;
    expect([...handle.ports.keys()]).toEqual([2, 3]);
  });

  it("error, for an OFPT_ERROR no request claims", async () => {
    const ev = nextEvent<[SwitchHandle, { xid: number; errType: number }]>((f) =>
      controller.register("error", f),
    );
    const sw = await joined();
    sw.send({
      type: OFPT.ERROR,
      xid: 1234,
      errType: OFPET.BAD_ACTION,
      code: 4,
      data: Buffer.alloc(8),
    });
    const [, msg] = await ev;
    expect([msg.xid, msg.errType]).toEqual([1234, OFPET.BAD_ACTION]);
  });

  it("runs a chain in order and STOP ends it; on() and unregister work", async () => {
    const seen: string[] = [];
    controller.register("packet-in", () => void seen.push("late"), 200);
    const offEarly = controller.register(
      "packet-in",
      () => {
        seen.push("early");
        return STOP;
      },
      10,
    );
    controller.on("packet-in", () => void seen.push("default"));
    controller.register(
      "packet-in",
      () => {
        throw new Error("app bug");
      },
      5,
    );
    const sw = await joined();
    const pin = packetIn(frame);
    sw.send(pin);
    await expect.poll(() => seen).toEqual(["early"]);
    offEarly();
    sw.send(pin);
    await expect.poll(() => seen).toEqual(["early", "default", "late"]);
    expect(log.lines.some((l) => l.msg === "event handler threw; skipped")).toBe(true);
  });

  it("a handler that throws on every packet-in costs a few log lines, not one per packet", async () => {
    let calls = 0;
    controller.on("packet-in", () => {
      calls++;
      throw new Error("app bug");
    });
    const sw = await joined();
    const pin = packetIn(Buffer.alloc(60));
    for (let i = 0; i < 500; i++) sw.send(pin);
    await expect.poll(() => calls).toBe(500);
    const threw = log.lines.filter((l) => l.msg === "event handler threw; skipped");
    expect(threw).toHaveLength(5);
    expect(threw[0]).toMatchObject({ event: "packet-in" });
  });
});

describe("connect (switches that listen)", () => {
  it("connects to tcp:HOST:PORT and resolves with the joined switch", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const listenPort = (server.address() as AddressInfo).port;
    const accepted = new Promise<FakeSwitch>((resolve) =>
      server.once("connection", (s) => void FakeSwitch.adopt(s).then(resolve)),
    );
    try {
      const handle = controller.connect(`tcp:127.0.0.1:${listenPort}`);
      const sw = await accepted;
      switches.push(sw);
      await sw.handshake(0x77n);
      const joined = await handle;
      expect(joined.datapathId).toBe(0x77n);
      expect(controller.switches.get(0x77n)).toBe(joined);
    } finally {
      server.close();
    }
  });

  it("rejects when nothing listens, or when the switch closes before joining", async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const p = (server.address() as AddressInfo).port;
    await expect(controller.connect(`tcp:127.0.0.1:${p}`)).rejects.toThrow(
      /before the switch joined/,
    );
    await new Promise<void>((r) => server.close(() => r()));
    await expect(controller.connect(`tcp:127.0.0.1:${p}`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("with reconnect: keeps trying until the switch listens, and reaches it again after it leaves", async () => {
    // A port with nothing behind it yet.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const p = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const handle = controller.connect(`tcp:127.0.0.1:${p}`, { reconnect: true });
    await new Promise((r) => setTimeout(r, 300)); // a refused attempt or two meanwhile
    const server = createServer((s) => void FakeSwitch.adopt(s).then((sw) => accepted.push(sw)));
    const accepted: FakeSwitch[] = [];
    await new Promise<void>((r) => server.listen(p, "127.0.0.1", r));
    try {
      await expect.poll(() => accepted.length, { timeout: 5000 }).toBe(1);
      switches.push(accepted[0]);
      await accepted[0].handshake(0x78n);
      expect((await handle).datapathId).toBe(0x78n);
      // The switch goes away; the controller is back within a moment, not after a backoff.
      const left = nextEvent<[SwitchHandle, string]>((f) => controller.register("leave", f));
      const rejoined = nextEvent<[SwitchHandle]>((f) => controller.register("join", f), 5000);
      accepted[0].close();
      await left;
      await expect.poll(() => accepted.length, { timeout: 2000 }).toBe(2);
      switches.push(accepted[1]);
      await accepted[1].handshake(0x78n);
      const [again] = await rejoined;
      expect(again.datapathId).toBe(0x78n);
      expect(controller.switches.get(0x78n)).toBe(again);
    } finally {
      await controller.close(); // stops reconnecting
      server.close();
    }
    expect(controller.connectionCount).toBe(0);
  });
});
