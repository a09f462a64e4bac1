// Bad input from a switch is logged and survived; a switch that stops reading never makes the
// controller's memory grow without bound.
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { OFPAT, OFPT, OFP_NO_BUFFER } from "../../src/openflow/of10/constants.js";
import type { OfpMessage } from "../../src/openflow/of10/messages.js";
import {
  Controller,
  type ControllerOptions,
  type SwitchHandle,
} from "../../src/controller/index.js";
import { FakeSwitch, logSink, nextEvent, packetInBytes } from "./fake-switch.js";

let controller: Controller | undefined;
let fake: FakeSwitch | undefined;
afterEach(async () => {
  fake?.close();
  await controller?.close();
});

async function setup(options: ControllerOptions = {}) {
  const log = logSink();
  controller = new Controller({ logger: pino({ level: "debug" }, log), ...options });
  const { port } = await controller.listen("ptcp:0");
  const join = nextEvent<[SwitchHandle]>((f) => controller!.register("join", f));
  fake = await FakeSwitch.joined(port);
  const [sw] = await join;
  return { log, sw, fake, controller };
}

const packetIn = packetInBytes();

describe("malformed messages from a switch", () => {
  const cases: Array<[string, Buffer]> = [
    ["truncated PACKET_IN", Buffer.from("010a000c0000000700000001", "hex")],
    ["unknown message type", Buffer.from("01ee000800000001", "hex")],
    ["wrong version", Buffer.from("040a001c00000007" + "00".repeat(20), "hex")],
    ["FLOW_REMOVED of the wrong size", Buffer.from("010b001000000001" + "00".repeat(8), "hex")],
    ["PORT_STATUS with a bad length", Buffer.from("010c000900000001ff", "hex")],
  ];
  for (const [what, bytes] of cases) {
    it(`${what}: logged with its error pair, and the session goes on`, async () => {
      const { log, fake, controller } = await setup();
      const ev = nextEvent((f) => controller.register("packet-in", f));
      fake.sendRaw(Buffer.concat([bytes, packetIn]));
      await ev;
      const line = log.lines.find((l) => l.msg?.toString().startsWith("malformed message"));
      expect(line?.level).toBe(50); // pino "error"
      expect(String(line?.pair)).toMatch(/^OFPET_BAD_REQUEST\//);
      expect(String(line?.bytes)).toBe(bytes.subarray(0, 64).toString("hex"));
      // still answered
      fake.send({ type: OFPT.ECHO_REQUEST, xid: 5, data: Buffer.alloc(0) });
      await fake.expect(OFPT.ECHO_REPLY);
    });
  }

  it("a message of the largest size (65535 bytes) is taken whole and the stream goes on", async () => {
    const { log, fake, controller } = await setup();
    const ev = nextEvent((f) => controller.register("packet-in", f));
    const big = Buffer.alloc(0xffff);
    big.write("0104ffff00000001", "hex"); // a VENDOR message the framer accepts (65535 is legal)
    fake.sendRaw(Buffer.concat([big, packetIn]));
    await ev; // a 65535-byte VENDOR with vendor id 0 decodes; the packet-in behind it arrives
    expect(log.lines.filter((l) => l.level === 50)).toHaveLength(0);
  });

  it("a header shorter than 8 bytes cannot be resynchronised: logged, then disconnected", async () => {
    const { log, fake, controller } = await setup();
    const leave = nextEvent<[SwitchHandle, string]>((f) => controller.register("leave", f));
    fake.sendRaw(Buffer.from("0102000400000001", "hex"));
    const [, reason] = await leave;
    expect(reason).toMatch(/malformed stream/);
    expect(log.lines.some((l) => l.msg?.toString().startsWith("malformed OpenFlow stream"))).toBe(
      true,
    );
    await fake.closedByPeer();
  });
});

describe("back-pressure", () => {
  const action = [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }] as const;
  const data = Buffer.alloc(1400, 1);

  /** Sends `total` 1.4 KB PACKET_OUTs, 64 per tick, while the switch does not read. */
  async function flood(sw: SwitchHandle, total: number): Promise<number> {
    let sent = 0;
    for (let i = 0; i < total; i += 64) {
      for (let j = i; j < Math.min(total, i + 64); j++) if (sw.send(pkt(j))) sent++;
      await new Promise((r) => setImmediate(r));
      if (!sw.connected) break;
    }
    return sent;
  }
  const pkt = (xid: number): OfpMessage => ({
    type: OFPT.PACKET_OUT,
    xid,
    bufferId: OFP_NO_BUFFER,
    inPort: 1,
    actions: [...action],
    data,
  });

  it('"drop": a switch that does not read gets at most maxQueuedBytes queued; the rest is dropped', async () => {
    const max = 256 * 1024;
    const { sw, fake } = await setup({ output: { maxQueuedBytes: max, pauseBytes: 64 * 1024 } });
    fake.socket.pause();
    const total = 20_000; // 28 MB: far beyond loopback's socket buffers
    const sent = await flood(sw, total);
    expect(sw.droppedMessages).toBe(total - sent);
    expect(sw.droppedMessages).toBeGreaterThan(0);
    expect(sw.connected).toBe(true);
    // What was accepted does arrive, once the switch reads again.
    fake.socket.resume();
    await expect
      .poll(() => fake.received.filter((m) => m.type === OFPT.PACKET_OUT).length, {
        timeout: 10_000,
      })
      .toBe(sent);
  });

  it('"disconnect": the connection is closed when the queue overflows', async () => {
    const { sw, fake, controller } = await setup({
      output: { maxQueuedBytes: 256 * 1024, pauseBytes: 64 * 1024, policy: "disconnect" },
    });
    const leave = nextEvent<[SwitchHandle, string]>((f) => controller.register("leave", f), 10_000);
    fake.socket.pause();
    await flood(sw, 20_000);
    const [, reason] = await leave;
    expect(reason).toBe("send queue overflow");
  });

  it("stops reading from a switch that does not read, and resumes when it drains", async () => {
    const { sw, fake, controller } = await setup({
      output: { maxQueuedBytes: 64 * 1024 * 1024, pauseBytes: 64 * 1024 },
    });
    let packetIns = 0;
    controller.register("packet-in", () => void packetIns++);
    fake.socket.pause();
    await flood(sw, 5000); // 7 MB: fills the socket buffers, so the controller pauses input
    for (let i = 0; i < 100; i++) fake.sendRaw(packetIn);
    await new Promise((r) => setTimeout(r, 200));
    expect(packetIns).toBe(0);
    fake.socket.resume();
    await expect.poll(() => packetIns, { timeout: 10_000 }).toBe(100);
  });
});
