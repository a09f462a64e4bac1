// The AF_PACKET addon given bad values: every argument is checked before anything is opened,
// every (offset, length) it sends is checked against the transmit area it was given, and no
// failure leaves a socket open. Also its transmit queue's CoDel, driven with made-up arrival
// times.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadAfPacket,
  TX_DESC_WORDS,
  TX_STAMPED,
  TX_STATS,
  type AfPacketNative,
} from "../../src/datapath/afpacket-native.js";
import { arp, eth, icmp, ipv4, tcpFrame, udpFrame } from "../support/frames.js";
import { labPrefix, Topology } from "../support/netns.js";
import { afpacketMissing, skipWithout } from "../support/prereq.js";

const skip = skipWithout(import.meta.url, afpacketMissing());

const EINVAL = 22;
const fdCount = () => readdirSync("/proc/self/fd").length;

// The addon's own memory, the only kind open() takes (AfPacketNative.alloc).
const alloc = (bytes: number) => (loadAfPacket().native as AfPacketNative).alloc(bytes);
const mem = (bytes: number) => Buffer.from(alloc(bytes));
const i32 = (n: number) => new Int32Array(alloc(4 * n));
const f64 = (n: number) => new Float64Array(alloc(8 * n));

interface OpenArgs {
  ifname: string;
  config: Record<string, unknown>;
  slots: unknown;
  slotBytes: unknown;
  rxDesc: unknown;
  large: unknown;
  txArea: unknown;
  txDesc: unknown;
  txStats: unknown;
  onBatch: unknown;
  onError: unknown;
  onTxIdle: unknown;
}

function defaults(ifname: string): OpenArgs {
  return {
    ifname,
    config: { ringBytes: 1 << 20, frameBytes: 2048, vnetHdr: 0 },
    slots: mem(4 * 2048),
    slotBytes: 2048,
    rxDesc: i32(5 * 4),
    large: mem(65600),
    txArea: mem(4096),
    txDesc: i32(TX_DESC_WORDS * 8),
    txStats: f64(TX_STATS.WORDS),
    onBatch: () => {},
    onError: () => {},
    onTxIdle: () => {},
  };
}

function thrown(fn: () => unknown): Error & { errno?: number } {
  try {
    fn();
  } catch (e) {
    return e as Error & { errno?: number };
  }
  throw new Error("did not throw");
}

describe.skipIf(skip)("AF_PACKET addon input checks", () => {
  const lab = new Topology(labPrefix("apn"));
  let native: AfPacketNative;
  let ifA = "";
  const open = (over: Partial<OpenArgs> = {}) => {
    const a = { ...defaults(ifA), ...over };
    return (native.open as unknown as (...args: unknown[]) => ReturnType<AfPacketNative["open"]>)(
      a.ifname,
      a.config,
      a.slots,
      a.slotBytes,
      a.rxDesc,
      a.large,
      a.txArea,
      a.txDesc,
      a.txStats,
      a.onBatch,
      a.onError,
      a.onTxIdle,
    );
  };

  beforeAll(() => {
    native = loadAfPacket().native!;
    [ifA] = lab.addVethPair("n");
  });
  afterAll(() => lab.teardown());

  it("refuses ring geometries: frame size a power of two, above the header, dividing the block", () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ frameBytes: 3000 }, /frameBytes is not a power of two/],
      [{ frameBytes: 0 }, /frameBytes is not a power of two/],
      [{ frameBytes: 64 }, /smaller than the TPACKET2 header/],
      [{ frameBytes: 2 << 20 }, /frameBytes is above 1 MiB/],
      [{ frameBytes: 8192, blockBytes: 4096 }, /frameBytes does not divide blockBytes/],
      [{ blockBytes: 65536 + 2048 }, /blockBytes is not a multiple of the page size/],
      [{ ringBytes: 2 ** 31 }, /ringBytes is above 1 GiB/],
    ];
    const fds = fdCount();
    for (const [cfg, re] of bad) {
      const e = thrown(() => open({ config: { ...defaults(ifA).config, ...cfg } }));
      expect(e.message).toMatch(re);
      expect(e.errno).toBe(EINVAL);
    }
    expect(fdCount()).toBe(fds);
  });

  it("refuses buffers of the wrong type or size and callbacks that are not functions", () => {
    const bad: Partial<OpenArgs>[] = [
      { rxDesc: f64(16) }, // 8-byte elements would be overrun as 4-byte ones
      { txDesc: new Uint32Array(alloc(96)) },
      { slots: i32(4096) },
      { large: "not a buffer" },
      { txArea: new Float32Array(alloc(4096)) },
      { rxDesc: i32(16) }, // fewer descriptors than slots (5 words each)
      { slotBytes: 32 },
      { slotBytes: 1 << 21 },
      { large: mem(2048) }, // not larger than a slot
      { txDesc: i32(10) }, // not whole [offset, length, arrival, flags] descriptors
      { txArea: mem(16) },
      { txStats: f64(TX_STATS.WORDS - 1) },
      { txStats: i32(2 * TX_STATS.WORDS) },
      // Memory that is not the addon's (it could be detached and freed under an open port).
      { slots: Buffer.alloc(4 * 2048) },
      { txArea: Buffer.alloc(4096) },
      { txStats: new Float64Array(TX_STATS.WORDS) },
      { config: { ringBytes: 1 << 20, frameBytes: "2048", vnetHdr: 0 } },
      { config: { ringBytes: 1 << 20, frameBytes: 2048, vnetHdr: 0, blockBytes: -1 } },
      { config: { ringBytes: 1 << 20, frameBytes: 2048.5, vnetHdr: 0 } },
      { config: { ringBytes: 1 << 20, frameBytes: 2048, vnetHdr: 0, txThread: -1 } },
      { config: { ringBytes: 1 << 20, frameBytes: 2048, vnetHdr: 0, batchesPerWakeup: 0 } },
      // CoDel's interval shorter than its target; an interval above 10 s
      { config: { ringBytes: 1 << 20, frameBytes: 2048, vnetHdr: 0, aqmTargetUs: 500 } },
      { config: { ringBytes: 1 << 20, frameBytes: 2048, vnetHdr: 0, aqmIntervalUs: 2e7 } },
      { slotBytes: 2048.5 },
      { onBatch: 42 },
      { onError: undefined },
      { onTxIdle: null },
      { ifname: "" },
      { ifname: "x".repeat(40) },
    ];
    const fds = fdCount();
    for (const over of bad) expect(() => open(over), JSON.stringify(over)).toThrow(TypeError);
    expect(fdCount()).toBe(fds);
  });

  it("copies only between Uint8Arrays, inside their bounds", () => {
    const dst = Buffer.alloc(8);
    const src = Buffer.from([1, 2, 3, 4]);
    native.copy(dst, 4, src, 0, 4);
    expect([...dst]).toEqual([0, 0, 0, 0, 1, 2, 3, 4]);
    const copy = native.copy as unknown as (...args: unknown[]) => void;
    expect(() => copy(new Int32Array(2), 0, src, 0, 1)).toThrow(TypeError);
    expect(() => copy(dst, 0, "abcd", 0, 1)).toThrow(TypeError);
    expect(() => copy(dst, 0, src)).toThrow(TypeError);
    expect(() => copy(dst, 5, src, 0, 4)).toThrow(RangeError);
    expect(() => copy(dst, 0, src, 1, 4)).toThrow(RangeError);
    expect(() => copy(dst, -1, src, 0, 1)).toThrow(RangeError);
    expect(() => copy(dst, 0, src, 0, 2 ** 32)).toThrow(RangeError);
    expect([...dst]).toEqual([0, 0, 0, 0, 1, 2, 3, 4]);
  });

  it("allocates only whole sizes from 1 byte to 1 GiB", () => {
    for (const n of [0, -1, 1.5, 2 ** 30 + 1, NaN])
      expect(() => native.alloc(n), String(n)).toThrow(RangeError);
    expect(native.alloc(3).byteLength).toBe(3);
  });

  it("keeps a port's memory while it is open, even when JavaScript detaches and drops it", () => {
    // Before: the port's buffers were JavaScript's; detached (structuredClone with transfer),
    // collected, and then written by the next receive batch and read by the sender: a crash.
    const [ifD, peer] = lab.addVethPair("d");
    const script = `
      const a = require(${JSON.stringify(require_path())});
      const m = (n) => Buffer.from(a.alloc(n));
      let slots = m(256 * 2048), txArea = m(1 << 16);
      let batches = 0;
      const h = a.open(${JSON.stringify(ifD)},
        { ringBytes: 1 << 20, frameBytes: 2048, vnetHdr: 0, txThread: 1 }, slots, 2048,
        new Int32Array(a.alloc(4 * 5 * 256)), m(65600), txArea, new Int32Array(a.alloc(16 * 64)),
        new Float64Array(a.alloc(${8 * TX_STATS.WORDS})), () => batches++, () => {}, () => {});
      for (const b of [slots, txArea]) structuredClone(b.buffer, { transfer: [b.buffer] });
      slots = txArea = null;
      for (let i = 0; i < 5; i++) global.gc();
      const probes = [];
      for (let i = 0; i < 64; i++) probes.push(Buffer.alloc(256 * 2048, 0x5a));
      require("child_process").execFileSync("python3", ["-c",
        "import socket; s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); " +
        "s.bind(('${peer}', 0)); " +
        "[s.send(bytes([255] * 6 + [2] * 6 + [8, 0] + [170] * 200)) for _ in range(300)]"]);
      setTimeout(() => {
        a.publish(h, 0, 0);
        a.close(h);
        for (let i = 0; i < 5; i++) global.gc();
        const clean = probes.every((p) => p.every((x) => x === 0x5a));
        console.log(JSON.stringify({ batches, clean }));
      }, 300);`;
    const r = spawnSync("node", ["--expose-gc", "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.status, `${r.signal ?? ""} ${r.stderr}`).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ batches: expect.any(Number), clean: true });
    expect(JSON.parse(r.stdout).batches).toBeGreaterThan(0);
  });

  it("takes only its own handles", () => {
    const fake = {} as never;
    expect(() => native.publish(fake, 0, 0)).toThrow(/not a port handle/);
    expect(() => native.txTail(fake)).toThrow(/not a port handle/);
    expect(() => native.txWait(fake, 0)).toThrow(/not a port handle/);
    expect(() => native.stats(fake)).toThrow(/not a port handle/);
    expect(() => native.close(fake)).toThrow(/not a port handle/);
    expect(() => native.vnetHdrLen(fake)).toThrow(/not a port handle/);
  });

  it("closes the socket when opening fails, before or after it exists", () => {
    const fds = fdCount();
    const e = thrown(() => open({ ifname: `${lab.prefix}-none` }));
    expect(e.message).toMatch(/if_nametoindex: No such device/);
    expect(fdCount()).toBe(fds);
    // After the socket exists: a child process whose address space is too small for the ring
    // (mmap fails with ENOMEM once the kernel ring is set up).
    const addon = require_path();
    const script = `
      const { execFileSync } = require("child_process");
      const fs = require("fs");
      const a = require(${JSON.stringify(addon)});
      const fds = () => fs.readdirSync("/proc/self/fd").length;
      const m = (n) => Buffer.from(a.alloc(n));
      const bufs = [m(8192), 2048, new Int32Array(a.alloc(80)), m(65600),
        m(4096), new Int32Array(a.alloc(128)), new Float64Array(a.alloc(${8 * TX_STATS.WORDS}))];
      const vm = Number(/VmSize:\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
      execFileSync("prlimit", ["--pid", String(process.pid), "--as=" + (vm + 8192) * 1024]);
      const before = fds();
      let err = "";
      try {
        a.open(${JSON.stringify(ifA)}, { ringBytes: 64 << 20, frameBytes: 2048, vnetHdr: 1 },
          ...bufs, () => {}, () => {}, () => {});
      } catch (e) { err = e.message; }
      console.log(JSON.stringify({ before, after: fds(), err }));`;
    const r = spawnSync("node", ["-e", script], { encoding: "utf8", timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { before: number; after: number; err: string };
    expect(out.err).toMatch(/mmap: Cannot allocate memory/);
    expect(out.after).toBe(out.before);
  });

  it.each([
    ["its caller", 0],
    ["its transmit thread", 1],
  ])("sends only frames that lie inside its transmit area (%s sending)", async (_, txThread) => {
    const txArea = mem(4096);
    const txDesc = i32(TX_DESC_WORDS * 8);
    const txStats = f64(TX_STATS.WORDS);
    let idle = 0;
    const h = open({
      txArea,
      txDesc,
      txStats,
      config: { ...defaults(ifA).config, txThread },
      onTxIdle: () => idle++,
    });
    try {
      const frame = Buffer.alloc(60, 0xab);
      frame.copy(txArea, 0);
      frame.copy(txArea, 4096 - 60);
      const pairs: [number, number][] = [
        [0, 60], // good
        [-1, 60], // before the area
        [4096, 60], // after it
        [4090, 60], // runs past its end
        [0x7fffff00, 0x7fffff00], // offset + length overflows 32 bits
        [0, 10], // shorter than an Ethernet header
        [0, -5],
        [4096 - 60, 60], // good, the last bytes
      ];
      pairs.forEach(([off, len], i) => txDesc.set([off, len, 0, 0], TX_DESC_WORDS * i));
      const tail = native.publish(h, pairs.length, 0);
      if (txThread) await waitFor(() => idle > 0 && native.txTail(h) === 8);
      else expect(tail).toBe(8);
      expect(txStats[TX_STATS.PACKETS]).toBe(2);
      expect(txStats[TX_STATS.BYTES]).toBe(120);
      expect(txStats[TX_STATS.ERRORS]).toBe(6);
      expect(txStats[TX_STATS.LAST_ERRNO]).toBe(EINVAL);
      // The ring has 8 descriptors: the head may run at most 8 ahead of the tail.
      expect(() => native.publish(h, 17, 0)).toThrow(RangeError);
      expect(() => native.publish(h, 7, 0)).toThrow(RangeError); // behind the last head
      expect(() => native.publish(h, -1, 0)).toThrow(RangeError);
      expect(() => native.publish(h, 8.5, 0)).toThrow(RangeError);
      // A wait is bounded by 1 s, in whole microseconds.
      for (const us of [-1, 1.5, 1_000_001, 2 ** 32, NaN])
        expect(() => native.txWait(h, us), String(us)).toThrow(RangeError);
      // Sequence numbers wrap around modulo 2^32 with the ring's slots: 8 more frames.
      for (let i = 0; i < 8; i++) txDesc.set([0, 60, 0, 0], TX_DESC_WORDS * i);
      native.publish(h, 16, 0);
      if (txThread) await waitFor(() => native.txTail(h) === 16);
      expect(native.txTail(h)).toBe(16);
    } finally {
      native.close(h);
    }
    expect(txStats[TX_STATS.PACKETS]).toBe(10);
  });

  it("lets its caller send what is published while the transmit thread sleeps", async () => {
    const txArea = mem(4096);
    const txDesc = i32(TX_DESC_WORDS * 8);
    const txStats = f64(TX_STATS.WORDS);
    const config = { ...defaults(ifA).config, txThread: 1 };
    let idle = 0;
    const h = open({ txArea, txDesc, txStats, config, onTxIdle: () => idle++ });
    try {
      Buffer.alloc(60, 0xab).copy(txArea, 0);
      for (let i = 0; i < 8; i++) txDesc.set([0, 60, 0, 0], TX_DESC_WORDS * i);
      await sleep(20); // the thread is waiting for work by now
      // Allowed to: sent before publish returns.
      expect(native.publish(h, 2, 1)).toBe(2);
      expect(txStats[TX_STATS.PACKETS]).toBe(2);
      // Not allowed to (the caller is behind on its own work): handed to the thread, which
      // reports running out of frames.
      native.publish(h, 3, 0);
      await waitFor(() => native.txTail(h) === 3 && idle === 1);
      expect(txStats[TX_STATS.PACKETS]).toBe(3);
      expect(() => native.publish(h, 4, 2)).toThrow(RangeError);
    } finally {
      native.close(h);
    }
  });

  it("sends a frame whose flow has nothing queued ahead of other flows' queued frames, each flow in order", async () => {
    const [ifX, ifY] = lab.addVethPair("s");
    const received: number[] = []; // sport * 1000 + sequence number, in arrival order
    const slots = mem(64 * 2048);
    const rx = open({
      ifname: ifY,
      slots,
      rxDesc: i32(5 * 64),
      onBatch: (n: number) => {
        for (let i = 0; i < n; i++) {
          const f = slots.subarray(i * 2048);
          if (f.readUInt16BE(12) === 0x0800 && f[23] === 17)
            received.push(f.readUInt16BE(34) * 1000 + f.readUInt16BE(42));
        }
      },
    });
    const txArea = mem(1 << 16);
    const txDesc = i32(TX_DESC_WORDS * 256);
    const config = { ...defaults(ifX).config, txThread: 1 };
    const tx = open({ ifname: ifX, txArea, txDesc, config });
    const put = (i: number, sport: number, seq: number) => {
      const f = udpFrame({ sport, dport: 9 }, [seq >> 8, seq & 0xff]);
      f.copy(txArea, i * 128);
      txDesc.set([i * 128, f.length, 0, 0], TX_DESC_WORDS * i);
    };
    try {
      // A bulk flow's 200 frames, then a second flow's one frame, three of a third flow's, all
      // handed over at once.
      for (let i = 0; i < 200; i++) put(i, 1, i);
      put(200, 2, 0);
      for (let i = 0; i < 3; i++) put(201 + i, 3, i);
      native.publish(tx, 204, 0);
      await waitFor(() => received.length === 204);
      // The first frame of each flow goes first; the rest in their flows' order.
      expect(received.slice(0, 3)).toEqual([1000, 2000, 3000]);
      const order = (sport: number) => received.filter((k) => Math.floor(k / 1000) === sport);
      expect(order(1)).toEqual([...Array(200).keys()].map((i) => 1000 + i));
      expect(order(3)).toEqual([3000, 3001, 3002]);
    } finally {
      native.close(tx);
      native.close(rx);
    }
  });

  it("drops with CoDel only TCP segments that stayed too long, after an interval of it", async () => {
    const txArea = mem(4096);
    const txDesc = i32(TX_DESC_WORDS * 64);
    const txStats = f64(TX_STATS.WORDS);
    const config = { ...defaults(ifA).config, aqmTargetUs: 1000, aqmIntervalUs: 20_000 };
    const h = open({ txArea, txDesc, txStats, config });
    // TCP at 0, then UDP, ICMP, ARP, and TCP in an 802.1Q tag.
    const frames = [
      tcpFrame({ sport: 5001, dport: 5002 }),
      udpFrame({ sport: 5001, dport: 5002 }),
      eth({ type: 0x0800 }, ipv4({ proto: 1, src: "10.0.0.1", dst: "10.0.0.2" }, icmp(8, 0))),
      eth({ type: 0x0806 }, arp(1, "10.0.0.1", "10.0.0.2")),
      tcpFrame({ sport: 1, dport: 2, vlan: { vid: 7, pcp: 0 } }),
    ];
    const at: [number, number][] = [];
    frames.reduce((off, f) => (f.copy(txArea, off), at.push([off, f.length]), off + 256), 0);
    // The addon's clock: CLOCK_REALTIME in microseconds modulo 2^32.
    const nowUs = () => Number((BigInt(Date.now()) * 1000n) % 2n ** 32n);
    let head = 0;
    /** A burst of `n` frames of kind `k` that arrived `ageUs` ago (or carry no arrival time). */
    const burst = (n: number, ageUs: number, k = 0, stamped = true) => {
      const arrival = (nowUs() - ageUs) >>> 0;
      for (let i = 0; i < n; i++)
        txDesc.set(
          [...at[k], arrival | 0, stamped ? TX_STAMPED : 0],
          TX_DESC_WORDS * (head++ % 64),
        );
      native.publish(h, head, 0);
    };
    try {
      // Fresh frames, frames without an arrival time, and stale frames other than TCP
      // segments are never dropped.
      for (let round = 0; round < 10; round++) {
        burst(32, 0);
        burst(32, 50_000, 0, false);
        for (const k of [1, 2, 3]) burst(32, 50_000, k);
        await sleep(5);
      }
      expect(txStats[TX_STATS.AQM_DROPS]).toBe(0);
      // Frames 50 ms old: nothing is dropped until they have been above target for an
      // interval (20 ms); from then on some are, not all.
      burst(32, 50_000);
      expect(txStats[TX_STATS.AQM_DROPS]).toBe(0);
      const until = Date.now() + 200;
      while (Date.now() < until) {
        burst(32, 50_000, 4);
        await sleep(2);
      }
      const dropped = txStats[TX_STATS.AQM_DROPS];
      expect(dropped).toBeGreaterThan(3);
      expect(dropped).toBeLessThan(txStats[TX_STATS.PACKETS] / 2);
      // The queue is back below target: dropping stops.
      burst(32, 0);
      const settled = txStats[TX_STATS.AQM_DROPS];
      for (let round = 0; round < 5; round++) {
        burst(32, 0);
        await sleep(5);
      }
      expect(txStats[TX_STATS.AQM_DROPS]).toBe(settled);
    } finally {
      native.close(h);
    }
  });
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error("timed out");
    await sleep(2);
  }
}

function require_path(): string {
  return new URL("../../native/afpacket/build/Release/afpacket.node", import.meta.url).pathname;
}
