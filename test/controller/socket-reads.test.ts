// The direct read path (socket-reads.ts): accepted and connected sockets read straight into the
// controller's slabs on this Node, and what a switch sent stays intact however it was split into
// reads and however long an application keeps it; with directReads: false the stream path does
// the same. A Node upgrade that changes accepted sockets' internals makes the first test fail
// rather than silently costing a sixth more CPU per packet-in.
import { connect, createServer, type AddressInfo } from "node:net";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { OFPT } from "../../src/openflow/of10/constants.js";
import { Controller, type SwitchHandle } from "../../src/controller/index.js";
import type { PacketInMessage } from "../../src/controller/events.js";
import { sleep } from "../support/wait.js";
import { FakeSwitch, nextEvent, packetInBytes } from "./fake-switch.js";

let controller: Controller | undefined;
const switches: FakeSwitch[] = [];

afterEach(async () => {
  for (const s of switches.splice(0)) s.close();
  await controller?.close();
  controller = undefined;
});

async function start(directReads?: boolean): Promise<number> {
  controller = new Controller({ logger: pino({ level: "silent" }), directReads });
  return (await controller.listen("ptcp:0")).port;
}

async function join(port: number, dpid = 1n): Promise<[FakeSwitch, SwitchHandle]> {
  const joined = nextEvent<[SwitchHandle]>((fn) => controller!.register("join", fn));
  const sw = await FakeSwitch.joined(port, dpid);
  switches.push(sw);
  return [sw, (await joined)[0]];
}

/** A 60-byte frame whose bytes all say `n` (mod 256), and its PACKET_IN with xid `n`. */
function numbered(n: number): Buffer {
  const b = packetInBytes(Buffer.alloc(60, n & 0xff));
  b.writeUInt32BE(n, 4);
  return b;
}

const tick = () => new Promise((r) => setTimeout(r, 2));

for (const direct of [true, false]) {
  describe(direct ? "direct reads (default)" : "directReads: false (stream path)", () => {
    it(`accepted switches ${direct ? "read directly" : "read through 'data'"}`, async () => {
      const port = await start(direct ? undefined : false);
      const [, handle] = await join(port);
      expect(handle.readsDirect).toBe(direct);
    });

    it("delivers every packet-in intact across many reads and slabs", async () => {
      const port = await start(direct);
      const [sw] = await join(port);
      sw.socket.setNoDelay(true);
      const kept: PacketInMessage[] = [];
      controller!.register("packet-in", (_, msg) => void kept.push(msg));
      // 6,000 packet-ins (~470 KB, several slabs) in pieces of 997 bytes, so that most reads
      // end inside a message the framer must hold until the next read.
      const total = 6000;
      const all = Buffer.concat(Array.from({ length: total }, (_, i) => numbered(i)));
      for (let off = 0, n = 0; off < all.length; off += 997, n++) {
        sw.sendRaw(all.subarray(off, off + 997));
        if (n % 20 === 0) await tick();
      }
      for (let waited = 0; kept.length < total && waited < 5000; waited += 10) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(kept.length).toBe(total);
      for (let i = 0; i < total; i++) {
        expect(kept[i].xid).toBe(i);
        expect(kept[i].data.equals(Buffer.alloc(60, i & 0xff))).toBe(true);
      }
    });

    it("frames a message split across reads, byte by byte", async () => {
      const port = await start(direct);
      const [sw] = await join(port);
      sw.socket.setNoDelay(true);
      const got = nextEvent<[SwitchHandle, PacketInMessage]>((fn) =>
        controller!.register("packet-in", fn),
      );
      const bytes = numbered(0x4242);
      for (let i = 0; i < bytes.length; i++) {
        sw.sendRaw(bytes.subarray(i, i + 1));
        if (i % 8 === 0) await tick();
      }
      const [, msg] = await got;
      expect(msg.xid).toBe(0x4242);
      expect(msg.data.equals(Buffer.alloc(60, 0x42))).toBe(true);
    });

    it("closes while switches are connected, and sees a switch's close", async () => {
      const port = await start(direct);
      const [sw] = await join(port, 1n);
      await join(port, 2n);
      const left = nextEvent<[SwitchHandle, string]>((fn) => controller!.register("leave", fn));
      sw.close();
      expect((await left)[0].datapathId).toBe(1n);
      expect(controller!.connectionCount).toBe(1);
      await controller!.close(); // resolves: the server does not wait for a lost socket
      controller = undefined;
    });

    it("reads a switch it connected to (tcp:)", async () => {
      await start(direct);
      const server = createServer();
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const accepted = new Promise<FakeSwitch>((resolve) =>
        server.once("connection", (s) => void FakeSwitch.adopt(s).then(resolve)),
      );
      try {
        const joining = controller!.connect(
          `tcp:127.0.0.1:${(server.address() as AddressInfo).port}`,
        );
        const sw = await accepted;
        switches.push(sw);
        await sw.handshake(0x99n);
        const handle = await joining;
        expect(handle.readsDirect).toBe(direct);
        const got = nextEvent<[SwitchHandle, PacketInMessage]>((fn) =>
          controller!.register("packet-in", fn),
        );
        sw.sendRaw(numbered(7));
        expect((await got)[1].xid).toBe(7);
        sw.send({ type: OFPT.ECHO_REQUEST, xid: 5, data: Buffer.from("hi") });
        expect((await sw.expect(OFPT.ECHO_REPLY)).xid).toBe(5);
      } finally {
        server.close();
      }
    });
  });
}

describe("direct reads: memory of connections that send little", () => {
  it("a connection that has sent only its HELLO holds a small first buffer, not a 256 KiB slab", async () => {
    // Each connection used to get a 256 KiB slab at accept, however little it sent: a thousand
    // quiet (or never joining) connections held 256 MB.
    const port = await start();
    const n = 300;
    const before = process.memoryUsage().arrayBuffers;
    const peers = Array.from({ length: n }, () => connect({ port, host: "127.0.0.1" }));
    try {
      for (const p of peers) p.write(Buffer.from("0100000800000001", "hex")); // HELLO
      await expect.poll(() => controller!.connectionCount, { timeout: 10_000 }).toBe(n);
      await sleep(200); // the HELLOs read
      const grown = process.memoryUsage().arrayBuffers - before;
      // 300 x 16 KiB = 4.9 MB now; 300 x 256 KiB = 79 MB before.
      expect(grown).toBeLessThan(24 * 1024 * 1024);
    } finally {
      for (const p of peers) p.destroy();
    }
  });
});
