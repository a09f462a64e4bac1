// The AF_PACKET addon given bad values: every argument is checked before anything is opened,
// every (offset, length) it sends is checked against the transmit area it was given, and no
// failure leaves a socket open.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAfPacket, type AfPacketNative } from "../../src/datapath/afpacket-native.js";
import { labPrefix, Topology } from "../support/netns.js";
import { afpacketMissing, skipWithout } from "../support/prereq.js";

const skip = skipWithout(import.meta.url, afpacketMissing());

const EINVAL = 22;
const fdCount = () => readdirSync("/proc/self/fd").length;

interface OpenArgs {
  ifname: string;
  config: Record<string, unknown>;
  slots: unknown;
  slotBytes: unknown;
  rxDesc: unknown;
  large: unknown;
  txArea: unknown;
  txDesc: unknown;
  onBatch: unknown;
  onError: unknown;
}

function defaults(ifname: string): OpenArgs {
  return {
    ifname,
    config: { ringBytes: 1 << 20, frameBytes: 2048, vnetHdr: 0 },
    slots: Buffer.alloc(4 * 2048),
    slotBytes: 2048,
    rxDesc: new Int32Array(16),
    large: Buffer.alloc(65600),
    txArea: Buffer.alloc(4096),
    txDesc: new Int32Array(3 * 8),
    onBatch: () => {},
    onError: () => {},
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
      a.onBatch,
      a.onError,
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
      { rxDesc: new Float64Array(16) }, // 8-byte elements would be overrun as 4-byte ones
      { txDesc: new Uint32Array(24) },
      { slots: new Int32Array(4096) },
      { large: "not a buffer" },
      { txArea: new Float32Array(1024) },
      { rxDesc: new Int32Array(4) }, // fewer descriptors than slots
      { slotBytes: 32 },
      { slotBytes: 1 << 21 },
      { large: Buffer.alloc(2048) }, // not larger than a slot
      { txDesc: new Int32Array(10) }, // not whole [offset, length, result] triples
      { txArea: Buffer.alloc(16) },
      { config: { ringBytes: 1 << 20, frameBytes: "2048", vnetHdr: 0 } },
      { config: { ringBytes: 1 << 20, frameBytes: 2048, vnetHdr: 0, blockBytes: -1 } },
      { config: { ringBytes: 1 << 20, frameBytes: 2048.5, vnetHdr: 0 } },
      { slotBytes: 2048.5 },
      { onBatch: 42 },
      { onError: undefined },
      { ifname: "" },
      { ifname: "x".repeat(40) },
    ];
    const fds = fdCount();
    for (const over of bad) expect(() => open(over), JSON.stringify(over)).toThrow(TypeError);
    expect(fdCount()).toBe(fds);
  });

  it("takes only its own handles", () => {
    const fake = {} as never;
    expect(() => native.flush(fake, 0)).toThrow(/not a port handle/);
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
      const bufs = [Buffer.alloc(8192), 2048, new Int32Array(16), Buffer.alloc(65600),
        Buffer.alloc(4096), new Int32Array(24)];
      const vm = Number(/VmSize:\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
      execFileSync("prlimit", ["--pid", String(process.pid), "--as=" + (vm + 8192) * 1024]);
      const before = fds();
      let err = "";
      try {
        a.open(${JSON.stringify(ifA)}, { ringBytes: 64 << 20, frameBytes: 2048, vnetHdr: 1 },
          ...bufs, () => {}, () => {});
      } catch (e) { err = e.message; }
      console.log(JSON.stringify({ before, after: fds(), err }));`;
    const r = spawnSync("node", ["-e", script], { encoding: "utf8", timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { before: number; after: number; err: string };
    expect(out.err).toMatch(/mmap: Cannot allocate memory/);
    expect(out.after).toBe(out.before);
  });

  it("sends only frames that lie inside its transmit area (-EINVAL for the others)", () => {
    const txArea = Buffer.alloc(4096);
    const txDesc = new Int32Array(3 * 8);
    const h = open({ txArea, txDesc });
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
      pairs.forEach(([off, len], i) => txDesc.set([off, len, 7], 3 * i));
      expect(native.flush(h, pairs.length)).toBe(2);
      const results = pairs.map((_, i) => txDesc[3 * i + 2]);
      expect(results).toEqual([0, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, 0]);
      expect(() => native.flush(h, 9)).toThrow(RangeError);
      expect(() => native.flush(h, -1)).toThrow(RangeError);
      expect(() => native.flush(h, 1.5)).toThrow(RangeError);
    } finally {
      native.close(h);
    }
  });
});

function require_path(): string {
  return new URL("../../native/afpacket/build/Release/afpacket.node", import.meta.url).pathname;
}
