// The one OpenFlow channel, by itself, against a raw peer on loopback: HELLO negotiation, echo
// keepalive, answers to malformed input, budgeted round-robin input, drain-paced reply streams
// with input held behind them, and a peer that stops reading under each send policy.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  OpenFlowChannel,
  type ChannelHandlers,
  type ChannelOptions,
} from "../../src/ofchannel/channel.js";
import { InputScheduler } from "../../src/ofchannel/input-scheduler.js";
import { CONTROLLER_SEND_POLICY, SWITCH_SEND_POLICY } from "../../src/ofchannel/send-queue.js";
import { parsePassiveTarget } from "../../src/ofchannel/targets.js";
import { listenPassive, type PassiveListener } from "../../src/ofchannel/transport.js";
import { OFPBRC, OFPET, OFPHFC, OFPT } from "../../src/openflow/of10/constants.js";
import type { OfpMessage } from "../../src/openflow/of10/messages.js";
import { encodeMessage } from "../../src/openflow/of10/codec.js";
import { memoryLogger, type LogLine } from "../support/log-sink.js";
import { sleep, waitFor } from "../support/wait.js";
import { ControllerPeer as RawPeer } from "../switch/peer.js";

interface Opened {
  channel: OpenFlowChannel;
  /** The channel's end of the connection. */
  socket: Socket;
  peer: RawPeer;
  /** Messages handed to the owner, in order. */
  got: OfpMessage[];
  closedWith: string[];
  readyCount: () => number;
  lines: LogLine[];
}

const listeners: PassiveListener[] = [];
const open: Opened[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    o.peer.close();
    o.channel.close("test over", 0);
  }
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

const baseOptions = (scheduler = new InputScheduler()): Omit<ChannelOptions, "log"> => ({
  label: "test",
  keepalive: { idleMs: 5000, timeoutMs: 5000 },
  sendQueue: SWITCH_SEND_POLICY,
  scheduler,
  answerMalformed: true,
});

/** A channel on an accepted socket and a raw peer on the other end; with `hello` the peer has
 * done its HELLO exchange. */
async function openChannel(
  options: Partial<ChannelOptions> = {},
  hello = true,
  handlers: Partial<ChannelHandlers> = {},
): Promise<Opened> {
  const { log, lines } = memoryLogger();
  const got: OfpMessage[] = [];
  const closedWith: string[] = [];
  let ready = 0;
  let resolveChannel: (c: OpenFlowChannel) => void = () => undefined;
  const accepted = new Promise<OpenFlowChannel>((r) => (resolveChannel = r));
  let ours: Socket | undefined;
  const listener = await listenPassive(parsePassiveTarget("ptcp:0"), ({ socket, source }) => {
    ours = socket;
    resolveChannel(
      new OpenFlowChannel(
        socket,
        source,
        { ...baseOptions(), log, ...options },
        {
          onReady: (c) => {
            ready++;
            handlers.onReady?.(c);
          },
          onMessage: (c, msg, raw) => {
            got.push(msg);
            handlers.onMessage?.(c, msg, raw);
          },
          onClose: (c, reason) => {
            closedWith.push(reason);
            handlers.onClose?.(c, reason);
          },
        },
      ),
    );
  });
  listeners.push(listener);
  const socket = connect({ port: listener.port, host: "127.0.0.1" });
  await new Promise((r) => socket.once("connect", r));
  const peer = new RawPeer(socket);
  const channel = await accepted;
  const o = { channel, socket: ours!, peer, got, closedWith, readyCount: () => ready, lines };
  open.push(o);
  if (hello) {
    await peer.expect(OFPT.HELLO);
    peer.send({ type: OFPT.HELLO, xid: 1, version: 1, body: Buffer.alloc(0) });
    await waitFor(() => channel.ready, "the HELLO exchange");
  }
  return o;
}

const barrier = (xid: number): OfpMessage => ({ type: OFPT.BARRIER_REQUEST, xid });
const vendor = (xid: number, size: number): OfpMessage => ({
  type: OFPT.VENDOR,
  xid,
  vendor: 0x2320,
  data: Buffer.alloc(size, xid & 0xff),
});

describe("HELLO", () => {
  it("negotiates the version from a newer peer's bitmap and keeps it on the channel", async () => {
    const { channel, peer, readyCount } = await openChannel({}, false);
    const hello = await peer.expect(OFPT.HELLO);
    expect(hello.version).toBe(1);
    expect(channel.version).toBe(0);
    // OF1.3 HELLO with a bitmap element listing 1.0 and 1.3.
    peer.sendRaw(Buffer.from("04000010000000070001000800000012", "hex"));
    await waitFor(() => channel.ready, "the channel to be ready");
    expect(channel.version).toBe(1);
    expect(readyCount()).toBe(1);
  });

  it("refuses a peer without a common version with HELLO_FAILED, and closes", async () => {
    const { channel, peer, closedWith } = await openChannel({}, false);
    await peer.expect(OFPT.HELLO);
    peer.sendRaw(Buffer.from("04000010000000070001000800000010", "hex")); // 1.3 only
    const err = await peer.expect(OFPT.ERROR);
    expect([err.errType, err.code]).toEqual([OFPET.HELLO_FAILED, OFPHFC.INCOMPATIBLE]);
    expect(err.data.toString("latin1")).toMatch(/version 0x04; only 0x01 is supported/);
    await peer.waitClosed();
    expect(channel.closed).toBe(true);
    expect(closedWith).toHaveLength(1);
  });

  it("does not answer an error with an error: a peer that refuses us is closed quietly", async () => {
    const { peer, closedWith } = await openChannel({}, false);
    await peer.expect(OFPT.HELLO);
    peer.sendRaw(Buffer.from("0101000c0000000700000000", "hex")); // ERROR HELLO_FAILED/INCOMPATIBLE
    await peer.waitClosed();
    expect(closedWith[0]).toMatch(/error during the HELLO exchange: OFPET_HELLO_FAILED/);
    expect(peer.inbox.filter((m) => m.type === OFPT.ERROR)).toEqual([]);
  });

  it("with helloTimeoutMs, refuses a peer that sends nothing", async () => {
    const { peer, closedWith } = await openChannel({ helloTimeoutMs: 100 }, false);
    await peer.expect(OFPT.HELLO);
    const err = await peer.expect(OFPT.ERROR, 1000);
    expect(err.errType).toBe(OFPET.HELLO_FAILED);
    await peer.waitClosed();
    expect(closedWith[0]).toMatch(/no HELLO within 100 ms/);
  });
});

describe("echo keepalive", () => {
  it("answers ECHO_REQUEST, probes an idle line, and drops a peer that does not answer", async () => {
    const { peer, closedWith } = await openChannel({ keepalive: { idleMs: 100, timeoutMs: 150 } });
    const r = await peer.request({ type: OFPT.ECHO_REQUEST, xid: 0, data: Buffer.from("hi") });
    expect(r.type === OFPT.ECHO_REPLY && r.data.toString()).toBe("hi");
    await peer.expect(OFPT.ECHO_REQUEST, 1000); // answered by the peer
    await peer.expect(OFPT.ECHO_REQUEST, 1000); // and again: the line stays up
    expect(closedWith).toEqual([]);
    peer.answerEchoes = false;
    const t0 = Date.now();
    await peer.waitClosed(2000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(closedWith[0]).toMatch(/no reply to echo request within 150 ms/);
  });
});

describe("malformed input", () => {
  const badType = Buffer.from("013000080000abce", "hex");

  it("answerMalformed: the right OFPT_ERROR, a warning, and the session stays up", async () => {
    const { channel, peer, lines } = await openChannel({ answerMalformed: true });
    peer.sendRaw(badType);
    const err = await peer.expect(OFPT.ERROR);
    expect([err.errType, err.code, err.xid]).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, 0xabce]);
    const echo = await peer.request({ type: OFPT.ECHO_REQUEST, xid: 0, data: Buffer.alloc(0) });
    expect(echo.type).toBe(OFPT.ECHO_REPLY);
    expect(lines.some((l) => l.level === 40 && /^malformed message/.test(l.msg))).toBe(true);
    expect(channel.errorsSent).toBe(1);
  });

  it("without answerMalformed: nothing is sent back, an error is logged, and the session stays up", async () => {
    const { channel, peer, lines, got } = await openChannel({ answerMalformed: false });
    peer.sendRaw(Buffer.concat([badType, Buffer.from("0112000800000009", "hex")]));
    await waitFor(() => got.length === 1, "the barrier behind the bad message");
    expect(got[0]).toMatchObject({ type: OFPT.BARRIER_REQUEST, xid: 9 });
    const line = lines.find((l) => /^malformed message/.test(l.msg));
    expect(line).toMatchObject({ level: 50, pair: "OFPET_BAD_REQUEST/OFPBRC_BAD_TYPE" });
    expect(peer.inbox.filter((m) => m.type === OFPT.ERROR)).toEqual([]);
    expect(channel.errorsSent).toBe(0);
    expect(channel.closed).toBe(false);
  });

  it("a header shorter than 8 bytes cannot be resynchronised: answered with BAD_LEN and closed", async () => {
    const { peer, closedWith } = await openChannel();
    peer.sendRaw(Buffer.from("0102000400000005", "hex"));
    const err = await peer.expect(OFPT.ERROR);
    expect([err.errType, err.code]).toEqual([OFPET.BAD_REQUEST, OFPBRC.BAD_LEN]);
    await peer.waitClosed();
    expect(closedWith[0]).toMatch(/malformed stream/);
  });
});

describe("a closed channel", () => {
  it("stops reading: a peer that keeps sending through the grace period is not read into memory", async () => {
    const { channel, socket, peer, got } = await openChannel();
    channel.close("closed by the test", 2000); // the socket lives on for the grace period
    const before = socket.bytesRead;
    // 8 MB of well-formed messages after the close, about a tenth of a second of a flooding peer.
    const burst = Buffer.concat(
      Array.from({ length: 2000 }, (_, i) => encodeMessage(vendor(i, 4000))),
    );
    peer.sendRaw(burst);
    await sleep(300);
    // At most what one read had already taken in, not the burst: before, all 8 MB were read and
    // framed (and nothing handled them).
    expect(socket.bytesRead - before).toBeLessThanOrEqual(256 * 1024);
    expect(got).toEqual([]);
  });
});

describe("budgeted, round-robin input", () => {
  it("handles at most `budget` messages of a channel per turn, in order, and serves another channel in between", async () => {
    const scheduler = new InputScheduler(10);
    const order: string[] = [];
    const a = await openChannel({ scheduler }, true, {
      onMessage: () => void order.push("a"),
    });
    const b = await openChannel({ scheduler }, true, {
      onMessage: () => void order.push("b"),
    });
    const N = 20_000; // 160 KB: several reads of a's socket
    const burst = Buffer.concat(Array.from({ length: N }, (_, i) => encodeMessage(barrier(i + 1))));
    a.peer.sendRaw(burst);
    b.peer.send(barrier(7));
    await waitFor(() => order.length === N + 1, "every message", 10_000);
    // b's one message waited behind a few of a's slices, not behind a whole read of a's
    // (8,192 barriers in 64 KiB) as it did before the budget.
    expect(order.indexOf("b")).toBeLessThan(100);
    expect(a.got.map((m) => m.xid)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(scheduler.waiting).toBe(0);
  });
});

describe("reply streams", () => {
  /** `n` VENDOR messages of `size` bytes of data, produced one by one; counts what it made. */
  function producer(n: number, size: number) {
    const made = { count: 0 };
    function* gen(): Generator<OfpMessage> {
      for (let i = 0; i < n; i++) {
        made.count++;
        yield vendor(0x10000 + i, size);
      }
    }
    return { made, source: gen() };
  }

  it("produces only while the peer reads; echo is answered mid-stream, other input waits for its end, in order", async () => {
    const { channel, peer, got } = await openChannel();
    peer.socket.pause(); // the peer does not read for now
    const N = 20_000; // 20 MB: far beyond what the kernel's socket buffers take
    const { made, source } = producer(N, 1000);
    channel.sendStream(source);
    expect(channel.streaming).toBe(true);
    peer.send({ type: OFPT.ECHO_REQUEST, xid: 0x20, data: Buffer.alloc(0) });
    peer.send(barrier(0x30));
    peer.sendRaw(Buffer.from("013000080000003a", "hex")); // a bad type: its error waits too
    peer.send(barrier(0x40));
    let maxUnsent = 0;
    for (let i = 0; i < 20; i++) {
      await sleep(10);
      maxUnsent = Math.max(maxUnsent, channel.queue.unsentBytes);
    }
    expect(made.count).toBeLessThan(N); // paced: not everything was made
    expect(maxUnsent).toBeLessThan(64 * 1024 + 1100);
    expect(got).toEqual([]); // held behind the stream
    peer.socket.resume();
    await waitFor(() => got.length === 2, "the held barriers", 20_000);
    expect(made.count).toBe(N);
    expect(channel.streaming).toBe(false);
    // The held input is handled once the stream is sent, not once the peer has read it all.
    await waitFor(() => peer.inbox.some((m) => m.xid === 0x3a), "the held error", 20_000);
    const xids = peer.inbox.map((m) => m.xid);
    expect(xids.indexOf(0x20)).toBeLessThan(xids.indexOf(0x10000 + N - 1)); // echo mid-stream
    expect(xids.indexOf(0x3a)).toBeGreaterThan(xids.indexOf(0x10000 + N - 1)); // error after it
    expect(got.map((m) => m.xid)).toEqual([0x30, 0x40]);
    expect(peer.inbox.filter((m) => m.type === OFPT.VENDOR)).toHaveLength(N);
  });

  it("held input past its bound stops reading, and the echo probe does not blame the peer for it", async () => {
    const { channel, peer, closedWith } = await openChannel({
      keepalive: { idleMs: 100, timeoutMs: 100 },
    });
    peer.socket.pause();
    channel.sendStream(producer(50_000, 1000).source);
    // 2 MB of barriers: more than the 1 MiB that may wait behind the stream.
    peer.sendRaw(
      Buffer.concat(Array.from({ length: 250_000 }, (_, i) => encodeMessage(barrier(i + 1)))),
    );
    await sleep(600); // several probe intervals, while the peer reads nothing and we read nothing
    expect(closedWith).toEqual([]);
    expect(channel.closed).toBe(false);
  });
});

describe("a peer that stops reading", () => {
  it("switch policy: packet-ins are shed first, replies still go; past the bound the peer is given up on", async () => {
    const { channel, peer, closedWith } = await openChannel({
      sendQueue: { ...SWITCH_SEND_POLICY, droppableBytes: 64 * 1024, maxQueuedBytes: 1 << 20 },
    });
    peer.socket.pause();
    const packetIn: OfpMessage = {
      type: OFPT.PACKET_IN,
      xid: 0,
      bufferId: 0xffffffff,
      totalLen: 1400,
      inPort: 1,
      reason: 0,
      data: Buffer.alloc(1400),
    };
    let shed = 0;
    for (let round = 0; round < 200 && shed === 0; round++) {
      for (let i = 0; i < 100; i++) if (!channel.send(packetIn, true)) shed++;
      await new Promise((r) => setImmediate(r));
    }
    expect(shed).toBeGreaterThan(0);
    expect(channel.queue.stats.shed).toBe(shed);
    expect(channel.send(vendor(1, 100))).toBe(true); // a reply still goes
    expect(channel.closed).toBe(false);
    // Replies the peer never reads: the bound is kept, then the peer is dropped.
    let maxUnsent = 0;
    for (let i = 0; i < 10_000 && !channel.closed; i++) {
      channel.send(vendor(i, 4000));
      maxUnsent = Math.max(maxUnsent, channel.queue.unsentBytes);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(closedWith).toEqual(["send queue overflow"]);
    expect(maxUnsent).toBeLessThanOrEqual(1 << 20);
  });

  it("controller policy: it is not read while it does not read, its excess is dropped, and the echo timeout drops it", async () => {
    const { channel, peer, got, closedWith } = await openChannel(
      {
        sendQueue: { ...CONTROLLER_SEND_POLICY, pauseBytes: 64 * 1024, maxQueuedBytes: 1 << 20 },
        keepalive: { idleMs: 200, timeoutMs: 200 },
        answerMalformed: false,
      },
      true,
      // Every message is answered with 4 KB, so the output fills long before the input does.
      { onMessage: (c, m) => void c.send(vendor(m.xid, 4000)) },
    );
    peer.socket.pause();
    let maxUnsent = 0;
    const t0 = Date.now();
    while (!channel.closed && Date.now() - t0 < 5000) {
      if (peer.socket.writableLength < 1 << 20) {
        peer.sendRaw(
          Buffer.concat(Array.from({ length: 100 }, (_, i) => encodeMessage(barrier(i + 1)))),
        );
      }
      maxUnsent = Math.max(maxUnsent, channel.queue.unsentBytes);
      await sleep(2);
    }
    expect(closedWith[0]).toMatch(/no reply to echo request/);
    expect(channel.queue.pressure).toBe(true); // it had stopped reading the peer
    expect(maxUnsent).toBeLessThanOrEqual(1 << 20);
    expect(got.length).toBeGreaterThan(0);
  });
});
