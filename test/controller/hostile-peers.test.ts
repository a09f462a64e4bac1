// What the world does to a controller besides well-formed sessions: thousands of connections that
// come and go at every stage of the handshake, switches that send garbage, and a switch that
// stops reading while it keeps sending. Each must cost nothing lasting (no connection, timer or
// file descriptor left behind, output bounded) and never disturb the other switches.
import { readdirSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { OFPAT, OFPT } from "../../src/openflow/of10/constants.js";
import { encodeMessage } from "../../src/openflow/of10/codec.js";
import {
  Controller,
  type ControllerOptions,
  type SwitchHandle,
} from "../../src/controller/index.js";
import { learningSwitch } from "../../src/controller/apps/learning-switch.js";
import { FakeSwitch, featuresReply, nextEvent, packetInBytes, phyPort } from "./fake-switch.js";

let controller: Controller | undefined;
const fakes: FakeSwitch[] = [];
const raw: Socket[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) f.close();
  for (const s of raw.splice(0)) s.destroy();
  await controller?.close();
  controller = undefined;
});

async function start(options: ControllerOptions = {}): Promise<number> {
  controller = new Controller({ logger: pino({ level: "silent" }), ...options });
  return (await controller.listen("ptcp:0")).port;
}

const HELLO = encodeMessage({ type: OFPT.HELLO, xid: 1, version: 1, body: Buffer.alloc(0) });
const fds = () => readdirSync("/proc/self/fd").length;
const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

/** A deterministic byte source (xorshift32), so a failing run can be replayed. */
function garbage(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A raw client that goes as far as `stage` into the handshake, then goes away. */
function visit(port: number, stage: number, id: number): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, 5000); // bounded, whatever the controller does
    s.on("error", done);
    s.on("close", done);
    let seen = Buffer.alloc(0);
    s.on("connect", () => {
      if (stage === 0) return done(); // connect and vanish
      if (stage === 4) {
        s.write(garbage(id, 200));
        return void s.end();
      }
      s.write(HELLO);
      if (stage === 1) s.end(); // HELLO, then close
    });
    s.on("data", (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      for (let off = 0; off + 8 <= seen.length; off += seen.readUInt16BE(off + 2)) {
        if (seen[off + 1] !== OFPT.FEATURES_REQUEST) continue;
        if (stage === 2) return done(); // mid-handshake: features asked, never answered
        s.end(encodeMessage(featuresReply(seen.readUInt32BE(off + 4), BigInt(id), [phyPort(1)])));
        return;
      }
    });
  });
}

describe("connection churn", () => {
  it("2,000 connections at every stage of the handshake leave nothing behind", async () => {
    const port = await start({ handshakeTimeoutMs: 2000 });
    let joins = 0;
    let leaves = 0;
    controller!.on("join", () => void joins++);
    controller!.on("leave", () => void leaves++);
    const fd0 = fds();
    const timers0 = timers();
    const total = 2000;
    for (let wave = 0; wave < total; wave += 100) {
      const visits = [];
      for (let i = wave; i < wave + 100; i++) visits.push(visit(port, i % 5, i + 1));
      await Promise.all(visits);
    }
    await expect.poll(() => controller!.connectionCount, { timeout: 5000 }).toBe(0);
    expect(joins).toBe(total / 5); // stage 3 joined (each with its own datapath id)...
    await expect.poll(() => leaves, { timeout: 5000 }).toBe(total / 5); // ...and left
    expect(controller!.switches.size).toBe(0);
    // Sockets the controller closed are destroyed at the latest 1 s after their end().
    await expect.poll(() => fds(), { timeout: 5000 }).toBeLessThanOrEqual(fd0 + 2);
    await expect.poll(() => timers(), { timeout: 5000 }).toBeLessThanOrEqual(timers0 + 2);
    // And the controller still works.
    fakes.push(await FakeSwitch.joined(port, 0x77n));
    await expect.poll(() => controller!.switches.has(0x77n)).toBe(true);
  }, 60_000);
});

describe("garbage", () => {
  it("switches sending random bytes, before or after joining, never disturb a good one", async () => {
    const port = await start({ handshakeTimeoutMs: 1000 });
    learningSwitch(controller!);
    const good = await FakeSwitch.joined(port, 1n);
    fakes.push(good);
    const before: FakeSwitch[] = [];
    for (let i = 0; i < 8; i++) {
      const bad = await FakeSwitch.joined(port, BigInt(100 + i));
      fakes.push(bad);
      for (let off = 0; off < 65536; off += 4096)
        bad.sendRaw(garbage(1000 + i, 65536).subarray(off, off + 4096));
      const early = await FakeSwitch.open(port);
      fakes.push(early);
      before.push(early);
      early.sendRaw(garbage(2000 + i, 65536)); // instead of HELLO
    }
    // Garbage in place of a HELLO ends that connection (HELLO_FAILED, or the handshake timeout).
    await Promise.all(before.map((b) => b.closedByPeer(5000)));
    // The good switch is answered as usual.
    good.send({ type: OFPT.ECHO_REQUEST, xid: 9, data: Buffer.from("ok") });
    expect((await good.expect(OFPT.ECHO_REPLY)).xid).toBe(9);
    good.sendRaw(packetInBytes(Buffer.from("ffffffffffff020000000001".padEnd(120, "0"), "hex")));
    expect((await good.expect(OFPT.PACKET_OUT)).bufferId).toBe(1);
    expect(controller!.switches.has(1n)).toBe(true);
  });
});

describe("a switch that stops reading and keeps sending", () => {
  it("keeps its queue bounded, is disconnected by the echo timeout, and does not hold up the others", async () => {
    const maxQueuedBytes = 1 << 20;
    const port = await start({
      echoIntervalMs: 300,
      echoTimeoutMs: 300,
      output: { maxQueuedBytes, pauseBytes: 64 * 1024 },
    });
    // Every packet-in is answered with 1.4 KB, so the output fills long before the input does.
    const data = Buffer.alloc(1400, 7);
    let peak = 0;
    controller!.on("packet-in", (sw, msg) => {
      sw.packetOut({
        data,
        inPort: msg.inPort,
        actions: [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }],
      });
      peak = Math.max(peak, sw.queuedBytes);
    });
    const good = await FakeSwitch.joined(port, 1n);
    fakes.push(good);
    const deaf = await FakeSwitch.joined(port, 2n);
    fakes.push(deaf);
    await expect.poll(() => controller!.switches.size).toBe(2);
    const deafHandle = controller!.switches.get(2n)!;
    const leave = nextEvent<[SwitchHandle, string]>(
      (f) => controller!.register("leave", f),
      15_000,
    );
    deaf.socket.pause();
    const burst = Buffer.concat(Array.from({ length: 100 }, () => packetInBytes()));
    let stop = false;
    let goodAnswered = 0;
    void (async () => {
      // Keep sending while the controller reads (bounded by our own socket's backlog).
      for (let i = 0; i < 10_000 && !stop && deafHandle.connected; i++) {
        if (deaf.socket.writableLength < 1 << 20) deaf.sendRaw(burst);
        await new Promise((r) => setTimeout(r, 2));
        // Meanwhile the good switch sends a packet-in now and then, and answers echo requests.
        if (i % 10 === 0) good.sendRaw(packetInBytes());
        for (const m of good.received.splice(0)) {
          if (m.type === OFPT.PACKET_OUT) goodAnswered++;
          if (m.type === OFPT.ECHO_REQUEST) {
            good.send({ type: OFPT.ECHO_REPLY, xid: m.xid, data: m.data });
          }
        }
      }
    })();
    try {
      const [left, reason] = await leave;
      expect(left).toBe(deafHandle);
      expect(reason).toMatch(/no reply to echo request/);
    } finally {
      stop = true;
    }
    expect(peak).toBeLessThanOrEqual(maxQueuedBytes);
    expect(goodAnswered).toBeGreaterThan(0);
    expect(controller!.switches.has(1n)).toBe(true);
    expect(good.closed).toBe(false);
  });
});
